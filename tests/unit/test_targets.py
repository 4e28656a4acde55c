import json
import os
from functools import partial
from pathlib import Path

import pytest

from tests.bundle_support import FIXED_SECRETS
from wizard.answers.secret_store import SECRETS_FILE, redact, secrets_text
from wizard.bundle.model import EXECUTABLE, PRIVATE, Bundle, File
from wizard.deliver.manifest import MANIFEST_FILE, read_manifest, sha256_hex, verify_bundle
from wizard.deliver.targets import (
    DIFF_LINES,
    DIFF_WIDTH,
    HIDDEN,
    Action,
    WritePlan,
    describe_plan,
    describe_result,
    plan_write,
    write_bundle,
)
from wizard.errors import WizardError

REDACT = partial(redact, store=FIXED_SECRETS)
PASSWORD = FIXED_SECRETS.database_password


def bundle_v1() -> Bundle:
    return {
        "README.md": File("# Your homeserver\n"),
        SECRETS_FILE: File(secrets_text(FIXED_SECRETS), PRIVATE),
        "apply.sh": File("#!/bin/sh\nset -eu\necho apply\n", EXECUTABLE),
        "synapse/homeserver.yaml": File(
            f"server_name: example.com\npassword: {PASSWORD}\n", PRIVATE
        ),
        "nginx/matrix.conf": File("server {\n    listen 443 ssl;\n}\n"),
    }


def actions(plan: WritePlan) -> dict[str, Action]:
    return {file.path: file.action for file in plan.files}


def tree(root: Path) -> dict[str, bytes | str]:
    """Return every path under root: a file's bytes, a link's target, or "dir"."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[relative] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[relative] = "dir"
        else:
            found[relative] = path.read_bytes()
    return found


def test_plan_for_a_missing_folder_creates_every_file_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "parent" / "bundle"
    plan = plan_write(bundle_v1(), out, redact=REDACT)
    assert set(actions(plan).values()) == {Action.CREATE}
    assert set(actions(plan)) == set(bundle_v1())
    assert not plan.up_to_date
    assert not (tmp_path / "parent").exists()
    assert "5 to create" in describe_plan(plan)


def test_plan_reads_the_folder_but_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    (out / "README.md").write_text("edited by hand\n")
    before = tree(tmp_path)
    stamps = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    changed = {**bundle_v1(), "nginx/matrix.conf": File("server {}\n"), "new.txt": File("x\n")}
    plan_write(changed, out, redact=REDACT)
    assert tree(tmp_path) == before
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == stamps


def test_plan_after_writing_the_same_bundle_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    plan = plan_write(bundle_v1(), out, redact=REDACT)
    assert plan.up_to_date
    assert set(actions(plan).values()) == {Action.KEEP}
    assert describe_plan(plan).startswith(f"Nothing would change in {out}")


def test_plan_names_each_kind_of_change(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    first = {**bundle_v1(), "old.conf": File("old\n"), "obsolete-edited.conf": File("x\n")}
    write_bundle(first, out)
    (out / "obsolete-edited.conf").write_text("mine now\n")
    (out / "README.md").write_text("my own readme\n")
    (out / "notes.txt").write_text("my notes\n")
    second = {
        **bundle_v1(),
        "nginx/matrix.conf": File("server {\n    listen 8443 ssl;\n}\n"),
        "README.md": File("# A new readme\n"),
        "coturn/turnserver.conf": File("listening-port=3478\n"),
    }
    plan = plan_write(second, out, redact=REDACT)
    assert actions(plan) == {
        "README.md": Action.CONFLICT,
        SECRETS_FILE: Action.KEEP,
        "apply.sh": Action.KEEP,
        "coturn/turnserver.conf": Action.CREATE,
        "nginx/matrix.conf": Action.CHANGE,
        "obsolete-edited.conf": Action.KEEP_OBSOLETE,
        "old.conf": Action.REMOVE,
        "synapse/homeserver.yaml": Action.KEEP,
    }
    assert plan.carried == ("notes.txt",)
    report = describe_plan(plan)
    assert (
        "README.md: edited by hand, kept as it is; the new version would go beside it as "
        "README.md.new" in report
    )
    assert "old.conf: no longer part of the bundle" in report
    assert "notes.txt: added by hand" in report
    assert "-    listen 443 ssl;" in report
    assert "+    listen 8443 ssl;" in report


def test_diffs_pass_every_line_through_redact(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"compose.env": File("DB_PASSWORD=old\n")}, out)
    plan = plan_write({"compose.env": File(f"DB_PASSWORD={PASSWORD}\n")}, out, redact=REDACT)
    report = describe_plan(plan)
    assert PASSWORD not in report
    assert "+DB_PASSWORD=<secret>" in report


def test_a_long_line_is_redacted_before_it_is_cut(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"a.conf": File("x\n")}, out)
    padding = "k" * (DIFF_WIDTH - 3 - len(PASSWORD) // 2)
    plan = plan_write({"a.conf": File(f"{padding}{PASSWORD}\n")}, out, redact=REDACT)
    diff = "\n".join(plan.files[0].diff)
    assert PASSWORD[: len(PASSWORD) // 2] not in diff
    assert all(len(line) <= DIFF_WIDTH for line in plan.files[0].diff)


@pytest.mark.parametrize("path", [SECRETS_FILE, "synapse/homeserver.yaml"])
def test_files_holding_secrets_show_no_diff(tmp_path: Path, path: str) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    changed = {**bundle_v1(), path: File("password: anything-at-all\n", PRIVATE)}
    plan = plan_write(changed, out, redact=lambda line: line)
    (planned,) = [file for file in plan.files if file.path == path]
    assert planned.action is Action.CHANGE
    assert planned.diff == (HIDDEN,)
    assert "anything-at-all" not in describe_plan(plan)


def test_the_secrets_file_shows_no_diff_even_when_not_private(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({SECRETS_FILE: File("a: 1\n")}, out)
    plan = plan_write({SECRETS_FILE: File("a: 2\n")}, out, redact=lambda line: line)
    assert plan.files[0].diff == (HIDDEN,)


def test_a_file_that_was_private_shows_no_diff_when_made_public(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"key.txt": File("token-one\n", PRIVATE)}, out)
    plan = plan_write({"key.txt": File("token-two\n")}, out, redact=lambda line: line)
    assert plan.files[0].diff == (HIDDEN,)


def test_a_long_diff_is_capped(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"big.txt": File("".join(f"line {n}\n" for n in range(100)))}, out)
    plan = plan_write(
        {"big.txt": File("".join(f"LINE {n}\n" for n in range(100)))}, out, redact=REDACT
    )
    diff = plan.files[0].diff
    assert len(diff) == DIFF_LINES + 1
    assert diff[-1].endswith("more diff lines")


def test_a_mode_change_alone_is_a_change(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"run.sh": File("echo\n")}, out)
    plan = plan_write({"run.sh": File("echo\n", EXECUTABLE)}, out, redact=REDACT)
    assert plan.files[0].action is Action.CHANGE
    assert plan.files[0].diff == ("mode 0644 -> 0755",)
    write_bundle({"run.sh": File("echo\n", EXECUTABLE)}, out)
    assert (out / "run.sh").stat().st_mode & 0o7777 == EXECUTABLE


def test_write_records_every_file_in_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    manifest = read_manifest(out)
    assert manifest is not None
    assert set(manifest) == set(bundle_v1())
    for path, file in bundle_v1().items():
        assert manifest[path].sha256 == sha256_hex(file.text.encode())
        assert manifest[path].mode == file.mode
        assert (out / path).read_text() == file.text
    assert verify_bundle(out) == []


def test_a_hand_edited_file_is_kept_and_the_new_version_goes_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    (out / "nginx/matrix.conf").write_text("my own nginx\n")
    second = {**bundle_v1(), "nginx/matrix.conf": File("server { listen 8443; }\n")}
    result = write_bundle(second, out)
    assert (out / "nginx/matrix.conf").read_text() == "my own nginx\n"
    assert (out / "nginx/matrix.conf.new").read_text() == "server { listen 8443; }\n"
    assert any("nginx/matrix.conf.new" in notice for notice in result.notices)
    assert "nginx/matrix.conf.new" in describe_result(result)
    assert verify_bundle(out) == ["nginx/matrix.conf"]


def test_a_pending_new_version_stays_until_the_person_deals_with_it(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    (out / "README.md").write_text("mine\n")
    second = {**bundle_v1(), "README.md": File("# Newer\n")}
    write_bundle(second, out)
    again = write_bundle(second, out)
    assert not again.changed
    assert (out / "README.md.new").read_text() == "# Newer\n"
    assert any("README.md.new" in notice for notice in again.notices)
    (out / "README.md.new").unlink()
    after_dismissal = write_bundle(second, out)
    assert dict((file.path, file.action) for file in after_dismissal.files)["README.md"] is (
        Action.KEEP_EDITED
    )
    assert (out / "README.md").read_text() == "mine\n"
    assert not (out / "README.md.new").exists()
    assert not write_bundle(second, out).changed


def test_taking_the_new_version_by_hand_ends_the_conflict(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    (out / "README.md").write_text("mine\n")
    second = {**bundle_v1(), "README.md": File("# Newer\n")}
    write_bundle(second, out)
    (out / "README.md.new").rename(out / "README.md")
    result = write_bundle(second, out)
    assert dict((file.path, file.action) for file in result.files)["README.md"] is Action.KEEP
    assert not (out / "README.md.new").exists()
    assert MANIFEST_FILE not in json.loads((out / MANIFEST_FILE).read_text())["files"]
    assert "README.md.new" not in json.loads((out / MANIFEST_FILE).read_text())["files"]
    assert verify_bundle(out) == []


def test_an_edit_the_wizard_has_nothing_new_for_is_kept_quietly(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    (out / "apply.sh").write_text("#!/bin/sh\necho mine\n")
    result = write_bundle(bundle_v1(), out)
    assert dict((file.path, file.action) for file in result.files)["apply.sh"] is Action.KEEP_EDITED
    assert (out / "apply.sh").read_text() == "#!/bin/sh\necho mine\n"
    assert not (out / "apply.sh.new").exists()


def test_files_added_by_hand_are_carried_over_as_they_are(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    (out / "notes.txt").write_text("my notes\n")
    (out / "notes.txt").chmod(0o640)
    os.utime(out / "notes.txt", ns=(1_000_000_000, 1_000_000_000))
    (out / "extra" / "deep").mkdir(parents=True)
    (out / "extra" / "deep" / "certs.pem").write_text("pem\n")
    (out / "empty").mkdir(mode=0o700)
    (out / "link").symlink_to("README.md")
    second = {**bundle_v1(), "README.md": File("# Changed\n")}
    result = write_bundle(second, out)
    assert result.changed
    assert result.carried == ("extra/deep/certs.pem", "link", "notes.txt")
    assert (out / "notes.txt").read_text() == "my notes\n"
    assert (out / "notes.txt").stat().st_mode & 0o7777 == 0o640
    assert (out / "notes.txt").stat().st_mtime_ns == 1_000_000_000
    assert (out / "extra" / "deep" / "certs.pem").read_text() == "pem\n"
    assert (out / "empty").is_dir()
    assert (out / "empty").stat().st_mode & 0o7777 == 0o700
    assert os.readlink(out / "link") == "README.md"
    assert "notes.txt" in describe_result(result)


def test_a_file_dropped_from_the_bundle_is_removed_with_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({**bundle_v1(), "coturn/turnserver.conf": File("x\n")}, out)
    result = write_bundle(bundle_v1(), out)
    assert not (out / "coturn").exists()
    assert (tmp_path / "bundle.previous" / "coturn" / "turnserver.conf").read_text() == "x\n"
    assert any("coturn/turnserver.conf is no longer part" in notice for notice in result.notices)


def test_a_dropped_file_edited_by_hand_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({**bundle_v1(), "coturn/turnserver.conf": File("x\n")}, out)
    (out / "coturn/turnserver.conf").write_text("tuned by hand\n")
    result = write_bundle(bundle_v1(), out)
    assert (out / "coturn/turnserver.conf").read_text() == "tuned by hand\n"
    assert any("edited by hand, so it is kept" in notice for notice in result.notices)
    assert "coturn/turnserver.conf" not in json.loads((out / MANIFEST_FILE).read_text())["files"]


def test_a_folder_not_written_by_the_wizard_keeps_every_differing_file(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "README.md").write_text(bundle_v1()["README.md"].text)
    (out / "apply.sh").write_text("#!/bin/sh\necho an older script\n")
    result = write_bundle(bundle_v1(), out)
    by_path = {file.path: file.action for file in result.files}
    assert by_path["README.md"] is Action.KEEP
    assert by_path["apply.sh"] is Action.CONFLICT
    assert (out / "apply.sh").read_text() == "#!/bin/sh\necho an older script\n"
    assert (out / "apply.sh.new").read_text() == bundle_v1()["apply.sh"].text
    assert (out / MANIFEST_FILE).is_file()


def test_the_previous_bundle_is_kept_and_an_older_one_replaced(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"v.txt": File("1\n")}, out)
    first = write_bundle({"v.txt": File("2\n")}, out)
    assert first.previous == tmp_path / "bundle.previous"
    write_bundle({"v.txt": File("3\n")}, out)
    assert (out / "v.txt").read_text() == "3\n"
    assert (tmp_path / "bundle.previous" / "v.txt").read_text() == "2\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle", "bundle.previous"]


def test_the_previous_folder_can_be_named(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"v.txt": File("1\n")}, out)
    result = write_bundle({"v.txt": File("2\n")}, out, previous_dir_name="bundle.old")
    assert result.previous == tmp_path / "bundle.old"
    assert (tmp_path / "bundle.old" / "v.txt").read_text() == "1\n"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "bundle"])
def test_a_bad_previous_folder_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(WizardError) as caught:
        write_bundle({"v.txt": File("1\n")}, tmp_path / "bundle", previous_dir_name=name)
    assert "previous bundle" in caught.value.message
    assert not (tmp_path / "bundle").exists()


def test_a_file_where_the_previous_folder_goes_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"v.txt": File("1\n")}, out)
    (tmp_path / "bundle.previous").write_text("not a folder\n")
    with pytest.raises(WizardError) as caught:
        write_bundle({"v.txt": File("2\n")}, out)
    assert "is not a folder" in caught.value.message
    assert (out / "v.txt").read_text() == "1\n"


def test_the_first_write_keeps_no_previous_folder(tmp_path: Path) -> None:
    result = write_bundle({"v.txt": File("1\n")}, tmp_path / "bundle")
    assert result.previous is None
    assert "kept in" not in describe_result(result)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle"]


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../escape", "a/../../b", MANIFEST_FILE, "", "synapse"]
)
def test_a_bundle_path_outside_the_folder_is_refused(tmp_path: Path, path: str) -> None:
    bundle = {path: File("x\n"), "synapse/homeserver.yaml": File("y\n")}
    with pytest.raises(WizardError) as caught:
        plan_write(bundle, tmp_path / "bundle", redact=REDACT)
    assert "bug in matrix-wizard" in caught.value.hint


def test_a_file_where_the_bundle_needs_a_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "synapse").write_text("a file, not a folder\n")
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle_v1(), out)
    assert "synapse in the bundle folder is not a folder" in caught.value.message
    assert (out / "synapse").read_text() == "a file, not a folder\n"


def test_a_folder_where_a_bundle_file_goes_is_kept_beside_the_new_file(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    (out / "README.md").mkdir(parents=True)
    (out / "README.md" / "inside.txt").write_text("kept\n")
    result = write_bundle({"README.md": File("# readme\n")}, out)
    assert {file.path: file.action for file in result.files}["README.md"] is Action.CONFLICT
    assert (out / "README.md" / "inside.txt").read_text() == "kept\n"
    assert (out / "README.md.new").read_text() == "# readme\n"


def test_a_broken_manifest_stops_the_write_with_a_way_out(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    (out / MANIFEST_FILE).write_text("{broken")
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle_v1(), out)
    assert "delete it" in caught.value.hint
    assert not (tmp_path / "bundle.previous").exists()


def test_a_symlinked_bundle_folder_is_written_where_it_points(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_bundle({"v.txt": File("1\n")}, real)
    (tmp_path / "link").symlink_to(real)
    result = write_bundle({"v.txt": File("2\n")}, tmp_path / "link")
    assert result.out_dir == real
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "link" / "v.txt").read_text() == "2\n"
    assert (tmp_path / "real.previous" / "v.txt").read_text() == "1\n"


def test_a_staging_folder_left_by_an_interrupted_write_is_cleared(tmp_path: Path) -> None:
    stale = tmp_path / ".bundle.tmp-abcd1234"
    stale.mkdir()
    (stale / "half.txt").write_text("half written\n")
    result = write_bundle({"v.txt": File("1\n")}, tmp_path / "bundle")
    assert not stale.exists()
    assert any("interrupted earlier write" in notice for notice in result.notices)


def test_nothing_changed_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    result = write_bundle(bundle_v1(), out)
    assert not result.changed
    assert result.previous is None
    assert describe_result(result).startswith(f"Nothing changed in {out}")


def test_the_result_counts_what_was_done(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle_v1(), out)
    second = {**bundle_v1(), "README.md": File("# new\n"), "extra.txt": File("e\n")}
    text = describe_result(write_bundle(second, out))
    assert f"Wrote the bundle to {out}: 1 created, 1 changed, 4 kept." in text
    assert f"The bundle it replaced is kept in {tmp_path / 'bundle.previous'}." in text
