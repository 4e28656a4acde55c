"""`matrix-wizard generate` and `check` as a person runs them, and the secrets they must keep."""

import json
import stat
from pathlib import Path

import yaml

from tests.conftest import run_cli
from wizard.answers.secret_store import SECRETS_FILE, Secrets


def answers_file(tmp_path: Path, *sets: str) -> Path:
    args = ["answers", "--homeserver", "synapse", "--server-name", "example.com"]
    for setting in sets:
        args += ["--set", setting]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "answers.yaml"
    path.write_text(result.stdout)
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def secrets_of(bundle: Path) -> list[str]:
    return Secrets.model_validate(yaml.safe_load((bundle / SECRETS_FILE).read_text())).values()


def test_generate_writes_a_bundle_with_private_secrets(tmp_path: Path) -> None:
    answers = answers_file(tmp_path, "calls.turn=true")
    out = tmp_path / "bundle"
    result = run_cli("generate", "--answers", str(answers), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "synapse/homeserver.yaml").is_file()
    assert stat.S_IMODE((out / SECRETS_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "synapse/homeserver.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "apply.sh").stat().st_mode) == 0o755
    secrets = secrets_of(out)
    shown = result.stdout + result.stderr
    for value in secrets:
        assert value not in shown
        assert value not in (out / "answers.yaml").read_text()
        assert value not in (out / "README.md").read_text()


def test_rerun_reuses_secrets_and_changes_nothing(tmp_path: Path) -> None:
    answers = answers_file(tmp_path)
    out = tmp_path / "bundle"
    run_cli("generate", "--answers", str(answers), "--out", str(out), check=True)
    before = tree(out)
    again = run_cli("generate", "--answers", str(answers), "--out", str(out), check=True)
    assert "Nothing changed" in again.stdout
    assert tree(out) == before


def test_changed_answer_changes_only_what_it_touches(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    run_cli("generate", "--answers", str(answers_file(tmp_path)), "--out", str(out), check=True)
    before = tree(out)
    secrets_before = secrets_of(out)
    bigger = answers_file(tmp_path, "media.max_upload_mb=200")
    result = run_cli("generate", "--answers", str(bigger), "--out", str(out), check=True)
    after = tree(out)
    changed = {path for path in after if before.get(path) != after[path]}
    assert "synapse/homeserver.yaml" in changed
    assert "nginx/matrix.conf" in changed
    assert "secrets.yaml" not in changed
    assert "synapse/signing.key" not in changed
    assert secrets_of(out) == secrets_before
    for value in secrets_of(out):
        assert value not in result.stdout + result.stderr


def test_dry_run_writes_nothing_and_hides_secrets(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    run_cli("generate", "--answers", str(answers_file(tmp_path)), "--out", str(out), check=True)
    before = tree(out)
    bigger = answers_file(tmp_path, "media.max_upload_mb=200")
    result = run_cli("generate", "--answers", str(bigger), "--out", str(out), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert tree(out) == before
    assert "homeserver.yaml" in result.stdout
    for value in secrets_of(out):
        assert value not in result.stdout


def test_dry_run_into_a_new_folder_creates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "new"
    result = run_cli(
        "generate", "--answers", str(answers_file(tmp_path)), "--out", str(out), "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert not out.exists()


def test_bad_answers_file_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text("homeserver: {kind: synapse, tier: huge}\ndomain: {server_name: 'a b'}\n")
    result = run_cli("generate", "--answers", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "homeserver.tier:" in result.stderr
    assert "domain.server_name:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_and_broken_answers_files(tmp_path: Path) -> None:
    missing = run_cli("generate", "--answers", str(tmp_path / "none.yaml"), "--out", "x")
    assert missing.returncode == 2 and "cannot read answers file" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("homeserver: [\n")
    result = run_cli("generate", "--answers", str(broken), "--out", "x")
    assert result.returncode == 2 and "not valid YAML" in result.stderr


def test_output_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("mine")
    result = run_cli("generate", "--answers", str(answers_file(tmp_path)), "--out", str(target))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert target.read_text() == "mine"


def test_prefix_moves_every_host_path(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    prefix = tmp_path / "stage"
    result = run_cli(
        "generate",
        "--answers",
        str(answers_file(tmp_path)),
        "--out",
        str(out),
        "--prefix",
        str(prefix),
    )
    assert result.returncode == 0, result.stderr
    compose = (out / "docker-compose.yml").read_text()
    assert f"{prefix}/opt/matrix-wizard/synapse:/config:ro" in compose
    assert yaml.safe_load((out / "answers.yaml").read_text())["deployment"]["prefix"] == str(prefix)


def test_check_json_reports_every_checked_file(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    run_cli("generate", "--answers", str(answers_file(tmp_path)), "--out", str(out), check=True)
    result = run_cli("check", str(out), "--json")
    report = json.loads(result.stdout)
    assert {"apply.sh", "synapse/homeserver.yaml", "nginx/matrix.conf"} <= {
        item["file"] for item in report
    }
    assert all(set(item) >= {"file", "checker", "status"} for item in report)
    assert all(item["status"] in {"passed", "failed", "not-checked"} for item in report)
    assert result.returncode == (1 if any(i["status"] == "failed" for i in report) else 0)


def test_check_of_a_missing_folder(tmp_path: Path) -> None:
    result = run_cli("check", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "not a bundle folder" in result.stderr
