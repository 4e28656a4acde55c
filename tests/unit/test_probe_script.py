"""assets/probe.sh under dash, bash and busybox gives the facts of the local probe."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_program
from wizard.errors import UsageError, WizardError
from wizard.paths import asset
from wizard.probe.facts import HostFacts
from wizard.probe.local import probe_local
from wizard.probe.remote_snapshot import facts_from_stream, new_mark, parse_probe_stream


def _run(shell: list[str], data_path: str, env: dict[str, str] | None = None) -> HostFacts:
    mark = new_mark()
    done = subprocess.run(
        [*shell, str(asset("probe.sh")), mark, data_path],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    return facts_from_stream(parse_probe_stream(done.stdout, mark, data_path=data_path))


def _comparable(facts: HostFacts) -> dict[str, object]:
    dumped = facts.model_dump(exclude={"source"})
    dumped["memory"].pop("available")
    dumped["disk"].pop("free")
    dumped["ports_in_use"] = sorted(
        (use["port"], use["protocol"]) for use in dumped["ports_in_use"]
    )
    return dumped


@pytest.fixture
def busybox_path(tmp_path: Path) -> str:
    """Return a PATH holding only busybox's applets, as on a minimal system."""
    busybox = require_program("busybox")
    folder = tmp_path / "busybox-bin"
    folder.mkdir()
    listed = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    for applet in listed.stdout.split():
        (folder / applet).symlink_to(busybox)
    return str(folder)


DATA_PATH = "/var/lib/matrix-not-yet"


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_the_probe_script_agrees_with_the_local_probe(shell: str) -> None:
    facts = _run([require_program(shell)], DATA_PATH)
    assert facts.source == "ssh"
    assert _comparable(facts) == _comparable(probe_local(DATA_PATH))


def test_under_busybox_alone_the_probe_script_agrees_but_for_programs_off_path(
    busybox_path: str,
) -> None:
    env = {"PATH": busybox_path, "HOME": os.environ.get("HOME", "/")}
    facts = _run([f"{busybox_path}/sh"], DATA_PATH, env)
    assert _comparable(facts) | {"tools": {}} == _comparable(probe_local(DATA_PATH)) | {"tools": {}}


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_a_file_that_cannot_be_run_is_no_tool(shell: str, tmp_path: Path) -> None:
    programs = tmp_path / "bin"
    programs.mkdir()
    (programs / "caddy").write_text("not a program\n")
    (programs / "nginx").write_text("#!/bin/sh\n")
    (programs / "nginx").chmod(0o755)
    command = [require_program(shell), *(["sh"] if shell == "busybox" else [])]
    env = {"PATH": str(programs), "HOME": os.environ.get("HOME", "/")}
    tools = _run(command, DATA_PATH, env).tools
    assert tools["nginx"] is True
    assert tools["caddy"] is False


def test_the_probe_script_refuses_a_data_path_through_a_file() -> None:
    with pytest.raises(UsageError) as refused:
        _run(["sh"], "/etc/hostname/data")
    assert "part of it is a file, not a folder" in refused.value.message


def test_a_stream_without_records_is_not_taken_for_facts() -> None:
    with pytest.raises(WizardError, match="printed nothing the wizard can read"):
        parse_probe_stream(b"Welcome to the server!\n", new_mark())


def test_a_stream_cut_in_the_middle_of_a_file_is_refused() -> None:
    mark = new_mark()
    cut = f"{mark}\tV\t1\n{mark}\tF\t/proc/meminfo\nMemTotal: 1".encode()
    with pytest.raises(WizardError, match="stops in the middle of /proc/meminfo"):
        parse_probe_stream(cut, mark)


def test_records_keep_file_bytes_exactly_and_skip_login_noise() -> None:
    mark = new_mark()
    stream = (
        b"motd line\n"
        + f"{mark}\tV\t1\n{mark}\tW\t/srv\t/srv\t1\n".encode()
        + f"{mark}\tF\t/a\n".encode()
        + b"no newline at the end"
        + f"\n{mark}\tEND\n".encode()
        + f"{mark}\tF\t/b\n".encode()
        + f"\n{mark}\tEND\n".encode()
        + f"{mark}\tF\t/c\nx\n\n\n{mark}\tEND\n".encode()
        + f"{mark}\tE\t/c\tPermission denied\n".encode()
    )
    parsed = parse_probe_stream(stream, mark)
    assert parsed.snapshot.files == {"/a": "no newline at the end", "/b": ""}
    assert parsed.snapshot.errors == {"/c": "Permission denied"}
    assert (parsed.requested, parsed.existing, parsed.found) == ("/srv", "/srv", True)
