"""The command line on hostile figures, folders and settings: exit 2 (1 for check), one line."""

from pathlib import Path

import pytest

from tests.cli_support import VALID_TEXT, run, with_line, written
from wizard.errors import quoted
from wizard.verify.checks import CHECKERS, CheckResult, Workspace, check_bundle

BACKUPS_PATH = "path: /var/backups/matrix-wizard"


def test_plan_with_a_bare_ram_figure_says_to_give_a_unit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["plan", "--cpus", "2", "--ram", "4", "--disk", "60G"], capsys) == (
        2,
        "matrix-wizard plan: error: argument --ram: size '4' is a bare number: give a unit: 4G "
        "(K, M, G and T are powers of 1024) (see matrix-wizard plan --help)\n",
    )


TOO_MANY = "CPU cores is more than any one machine has: give at most 1024"


@pytest.mark.parametrize(
    ("cpus", "says"),
    [
        ("0", "'0' CPU cores is too few: give at least 1"),
        ("-2", "'-2' CPU cores is too few: give at least 1"),
        ("two", "CPU cores 'two' is not a whole number: give one, such as 2"),
        ("2.5", "CPU cores '2.5' is not a whole number: give one, such as 2"),
        ("99999", f"'99999' {TOO_MANY}"),
        ("9" * 50, f"{quoted('9' * 50)} {TOO_MANY}"),
    ],
)
def test_plan_with_absurd_cores_says_what_would_do(
    capsys: pytest.CaptureFixture[str], cpus: str, says: str
) -> None:
    assert run(["plan", "--cpus", cpus, "--ram", "4G", "--disk", "60G"], capsys) == (
        2,
        f"matrix-wizard plan: error: argument --cpus: {says} (see matrix-wizard plan --help)\n",
    )


# --- Folders: --out "" and check on what is no bundle -----------------------------------------


@pytest.mark.parametrize("flag", ["--answers", "--out"])
def test_an_empty_path_is_refused_before_anything_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    monkeypatch.chdir(tmp_path)
    args = {"--answers": str(written(tmp_path, VALID_TEXT)), "--out": str(tmp_path / "b")}
    args[flag] = ""
    argv = ["generate", "--answers", args["--answers"], "--out", args["--out"]]
    assert run(argv, capsys) == (
        2,
        f"matrix-wizard generate: error: argument {flag}: an empty path names no file or "
        "folder: give one (see matrix-wizard generate --help)\n",
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["answers.yaml"]


@pytest.mark.parametrize("content", [[], ["notes.txt"]], ids=["empty", "other files"])
def test_check_of_a_folder_that_is_no_bundle_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: list[str]
) -> None:
    for name in content:
        (tmp_path / name).write_text("hello\n")
    assert run(["check", str(tmp_path)], capsys) == (
        1,
        f"matrix-wizard: error: {tmp_path} holds no .manifest.json, so it is no bundle the "
        "wizard wrote and there is nothing to check: give the folder matrix-wizard generate "
        "wrote\n",
    )


# --- The other ways in: --set and a resumed draft say the same --------------------------------


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("deployment.ports.https=true", "deployment.ports.https: must be a whole number, not true"),
        ("calls.turn=1", "calls.turn: must be true or false, not 1"),
        (
            "deployment.ports={https: 1, https: 2}",
            "--set 'deployment.ports={https: 1, https: 2}' line 1: the key 'https' is given "
            "twice (first on line 1): keep one of them (YAML would silently take the last)",
        ),
        (
            "database.port=" + "9" * 5000,
            f"--set {quoted('database.port=' + '9' * 5000)} line 1: a value of 5000 "
            "characters, longer than any answer (at most 4096): check what was pasted there",
        ),
    ],
    ids=["boolean port", "number switch", "key twice", "endless number"],
)
def test_a_hostile_setting_is_refused_in_the_words_of_the_file(
    capsys: pytest.CaptureFixture[str], setting: str, says: str
) -> None:
    argv = ["answers", "--homeserver", "synapse", "--server-name", "example.com", "--set", setting]
    assert run(argv, capsys) == (2, f"matrix-wizard: error: {says}\n")


def test_a_secrets_file_in_another_encoding_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "secrets.yaml").write_bytes("macaroon: abc\n".encode("utf-16"))
    # Backups on another disk: the only line on stderr is then the refusal.
    answers = written(tmp_path, with_line(BACKUPS_PATH, "path: /mnt/backups/matrix-wizard"))
    assert run(["generate", "--answers", str(answers), "--out", str(out), "--dry-run"], capsys) == (
        1,
        f"matrix-wizard: error: {out}/secrets.yaml is UTF-16 text, not UTF-8 (byte 0xff at "
        "offset 0): restore it from a backup, or move it away to make new secrets (the "
        "homeserver's signing key and passwords then change)\n",
    )


def test_check_fails_a_file_edited_into_another_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reads_text(work: Workspace) -> CheckResult:
        work.path("notes.conf").read_text(encoding="utf-8")
        return CheckResult("notes.conf", "reader", "passed")

    monkeypatch.setitem(CHECKERS, "notes.conf", reads_text)
    (tmp_path / "notes.conf").write_bytes(b"caf\xe9\n")
    assert check_bundle(tmp_path) == [
        CheckResult(
            "notes.conf",
            "utf-8",
            "failed",
            "notes.conf or a file it needs is not UTF-8 text (byte 0xe9 at offset 3): "
            "save it as UTF-8",
        )
    ]


@pytest.mark.parametrize("port", ["²", "0", "9" * 50])
def test_detect_over_ssh_with_a_port_that_is_no_port_says_what_a_port_is(
    capsys: pytest.CaptureFixture[str], port: str
) -> None:
    assert run(["detect", "--ssh", "root@vps.example.com", "--port", port], capsys) == (
        2,
        f"matrix-wizard detect: error: argument --port: {quoted(port)} is not a port: "
        "use a number from 1 to 65535 (see matrix-wizard detect --help)\n",
    )
