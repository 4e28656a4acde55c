"""probe_local on this real machine: values agree with psutil and os, data paths are checked."""

import contextlib
import errno
import os
import platform
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT
from wizard.errors import UsageError
from wizard.probe.assemble import facts_from_snapshot
from wizard.probe.facts import DiskKind, PortUse
from wizard.probe.local import LiveSnapshot, locate_data_path, probe_local
from wizard.units import MIB


def test_counts_and_sizes_agree_with_psutil_and_os() -> None:
    facts = probe_local("/var/lib" if os.path.isdir("/var/lib") else "/")
    assert facts.source == "local"
    assert facts.cpu.logical == os.cpu_count() == psutil.cpu_count()
    assert facts.cpu.physical == psutil.cpu_count(logical=False)
    assert facts.memory.total == psutil.virtual_memory().total
    assert facts.memory.swap == psutil.swap_memory().total
    assert facts.disk.total == psutil.disk_usage(facts.disk.path).total
    assert facts.cpu.arch == os.uname().machine
    assert facts.system.kernel == os.uname().release
    assert facts.hostname == socket.gethostname()
    assert facts.system.is_root == (os.geteuid() == 0)


def test_files_alone_give_the_same_counts_as_psutil() -> None:
    facts = facts_from_snapshot(LiveSnapshot(), "/")
    assert facts.cpu.logical == psutil.cpu_count()
    assert facts.cpu.physical == psutil.cpu_count(logical=False)
    assert facts.memory.total == psutil.virtual_memory().total
    assert facts.memory.swap == psutil.swap_memory().total


def test_system_names_agree_with_os_release() -> None:
    release = platform.freedesktop_os_release()
    facts = probe_local()
    assert facts.system.os_id == release["ID"]
    assert facts.system.os_version == release.get("VERSION_ID")
    assert facts.system.os_name == release.get("PRETTY_NAME")


def test_tools_agree_with_path_and_systemd() -> None:
    facts = probe_local()
    sbin = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    assert facts.tools["docker"] == bool(shutil.which("docker", path=sbin))
    assert facts.tools["nginx"] == bool(shutil.which("nginx", path=sbin))
    assert facts.tools["caddy"] == bool(shutil.which("caddy", path=sbin))
    assert facts.tools["docker-compose"] == bool(shutil.which("docker-compose", path=sbin))
    assert facts.tools["systemd"] == os.path.isdir("/run/systemd/system")


def test_disk_of_an_existing_folder_names_its_device(tmp_path: Path) -> None:
    facts = probe_local(str(tmp_path))
    assert facts.disk.path == str(tmp_path)
    assert facts.disk.free is not None
    assert abs(facts.disk.free - psutil.disk_usage(str(tmp_path)).free) < 256 * MIB
    assert facts.disk.kind_reason
    assert "disk.path" not in facts.unknown


def test_a_missing_data_path_is_judged_by_its_nearest_existing_parent(tmp_path: Path) -> None:
    wanted = tmp_path / "matrix" / "synapse"
    facts = probe_local(str(wanted))
    assert facts.disk.path == str(wanted)
    assert facts.disk.total == psutil.disk_usage(str(tmp_path)).total
    note = facts.unknown["disk.path"]
    assert str(wanted) in note and str(tmp_path) in note
    assert str(tmp_path) in facts.disk.kind_reason
    assert not wanted.exists()  # probing creates nothing


def test_a_data_path_whose_top_folder_is_missing_walks_up_to_the_root() -> None:
    wanted = f"/nonexistent-{uuid.uuid4().hex}/data"
    assert locate_data_path(wanted) == (wanted, "/")
    facts = probe_local(wanted)
    assert facts.disk.path == wanted
    assert facts.disk.total == psutil.disk_usage("/").total
    assert (
        facts.unknown["disk.path"] == f"{wanted} does not exist yet: sizes and kind are those of /"
    )


def test_a_relative_data_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert locate_data_path("data") == (str(tmp_path / "data"), str(tmp_path.resolve() / "data"))


def test_a_symlinked_data_path_is_resolved_for_the_disk(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    requested, existing = locate_data_path(str(tmp_path / "link"))
    assert requested == str(tmp_path / "link")
    assert existing == str(target.resolve())
    assert "disk.path" not in probe_local(str(tmp_path / "link")).unknown


def test_a_file_as_data_path_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder") as raised:
        probe_local(str(file))
    assert "--data-path" in raised.value.hint
    with pytest.raises(UsageError, match="part of it is a file"):
        probe_local(str(file / "below"))


def test_an_empty_data_path_is_refused() -> None:
    with pytest.raises(UsageError, match="empty"):
        probe_local("  ")


def test_a_data_path_that_cannot_be_read_is_refused_by_the_cli(tmp_path: Path) -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to drop the right to read any folder")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    os.chown(locked, 65534, 65534)
    drop = "-dac_override,-dac_read_search"
    done = subprocess.run(
        [
            setpriv,
            "--bounding-set",
            drop,
            "--inh-caps",
            drop,
            sys.executable,
            "-m",
            "wizard",
            "detect",
            "--data-path",
            str(locked / "inner"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert f"data path {locked / 'inner'} cannot be read: permission denied" in done.stderr
    assert "Traceback" not in done.stderr


@contextlib.contextmanager
def _bound(kind: socket.SocketKind, port: int) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            pytest.skip(f"port {port} is taken or needs root here")
        raise
    if kind == socket.SOCK_STREAM:
        sock.listen()
    try:
        yield sock
    finally:
        sock.close()


def test_a_watched_port_in_use_is_reported_with_its_process() -> None:
    name = psutil.Process().name()
    with _bound(socket.SOCK_STREAM, 8448), _bound(socket.SOCK_DGRAM, 3478):
        facts = probe_local()
    assert PortUse(port=8448, protocol="tcp", process=name) in facts.ports_in_use
    assert PortUse(port=3478, protocol="udp", process=name) in facts.ports_in_use


def test_a_port_that_only_has_connections_is_not_reported() -> None:
    with _bound(socket.SOCK_STREAM, 0) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            facts = probe_local()
    assert all(use.port != port for use in facts.ports_in_use)


def test_measuring_decides_the_kind_in_a_temporary_folder(tmp_path: Path) -> None:
    facts = probe_local(str(tmp_path), measure_disk=True)
    assert "random 4 KiB reads" in facts.disk.kind_reason
    if facts.disk.kind is not DiskKind.UNKNOWN:
        assert facts.disk.kind_reason.startswith("measured: ")
        assert "disk.kind" not in facts.unknown
    assert list(tmp_path.iterdir()) == []
