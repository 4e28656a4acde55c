"""Detection over SSH: one exec channel, the same facts as the local probe, the user's rights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_program
from tests.ssh.conftest import NO_AGENT, target_for
from tests.ssh.sshd_server import SshServer
from wizard.errors import UsageError
from wizard.probe.facts import HostFacts
from wizard.probe.local import probe_local
from wizard.probe.remote_snapshot import probe_ssh
from wizard.ssh.connection import connect

pytestmark = pytest.mark.ssh


def _detect(
    sshd: SshServer, ssh_dir: Path, user: str = "root", data_path: str = "/var/lib"
) -> HostFacts:
    with connect(target_for(sshd, ssh_dir, user=user), NO_AGENT) as connection:
        facts = probe_ssh(connection, data_path)
        assert connection.channels_opened == 1
    return facts


def test_detection_takes_exactly_one_exec_channel(sshd: SshServer, ssh_dir: Path) -> None:
    offset = sshd.log_offset()
    with connect(target_for(sshd, ssh_dir), NO_AGENT) as connection:
        probe_ssh(connection)
        assert connection.channels_opened == 1
    log = sshd.log_of_ended_connection(offset)
    assert log.count("Starting session:") == 1
    assert "Starting session: command for root" in log


def _close(first: int | None, second: int | None, share: float) -> bool:
    assert first is not None and second is not None
    return abs(first - second) <= share * max(first, second)


def test_the_remote_facts_of_this_machine_equal_the_local_ones(
    sshd: SshServer, ssh_dir: Path
) -> None:
    remote = _detect(sshd, ssh_dir)
    local = probe_local("/var/lib")
    assert remote.source == "ssh"
    assert local.source == "local"
    assert remote.hostname == local.hostname
    assert remote.cpu.logical == local.cpu.logical
    assert remote.cpu.arch == local.cpu.arch
    assert remote.cpu.model == local.cpu.model
    assert remote.cpu.limit == local.cpu.limit
    assert _close(remote.memory.total, local.memory.total, 0.01)
    assert remote.memory.limit == local.memory.limit
    assert remote.disk.total == local.disk.total
    assert _close(remote.disk.free, local.disk.free, 0.01)
    assert (remote.disk.kind, remote.disk.device) == (local.disk.kind, local.disk.device)
    assert remote.system == local.system
    assert {(use.port, use.protocol) for use in remote.ports_in_use} == {
        (use.port, use.protocol) for use in local.ports_in_use
    }
    assert remote.tools == local.tools


def test_the_users_rights_are_part_of_the_facts(sshd: SshServer, ssh_dir: Path) -> None:
    require_program("sudo")
    root = _detect(sshd, ssh_dir)
    plain = _detect(sshd, ssh_dir, user=sshd.password_user.name, data_path="~")
    trusted = _detect(sshd, ssh_dir, user=sshd.sudo_user.name, data_path="~")
    assert (root.system.is_root, root.system.passwordless_sudo) == (True, None)
    assert (plain.system.is_root, plain.system.passwordless_sudo) == (False, False)
    assert (trusted.system.is_root, trusted.system.passwordless_sudo) == (False, True)
    assert plain.disk.path == str(sshd.password_user.home)


def test_a_data_path_that_does_not_exist_yet_is_judged_by_its_parent(
    sshd: SshServer, ssh_dir: Path
) -> None:
    facts = _detect(sshd, ssh_dir, data_path="/var/lib/matrix-not-here/data")
    assert facts.disk.path == "/var/lib/matrix-not-here/data"
    assert facts.unknown["disk.path"] == (
        "/var/lib/matrix-not-here/data does not exist yet: sizes and kind are those of /var/lib"
    )
    assert facts.disk.total is not None


def test_a_data_path_through_a_file_is_refused(sshd: SshServer, ssh_dir: Path) -> None:
    with pytest.raises(UsageError) as refused:
        _detect(sshd, ssh_dir, data_path="/etc/hostname/data")
    assert refused.value.message == (
        "data path /etc/hostname/data cannot be read: part of it is a file, not a folder"
    )


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HOME": str(home), "SSH_AUTH_SOCK": ""},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_the_detect_command_asks_for_the_host_key_then_remembers_it(
    sshd: SshServer, tmp_path: Path
) -> None:
    target = f"root@127.0.0.1:{sshd.port}"
    key = str(sshd.client_keys["ed25519"])
    refused = _cli(tmp_path, "detect", "--ssh", target, "--identity", key, "--json")
    assert refused.returncode == 1
    assert sshd.fingerprint in refused.stderr
    assert refused.stdout == ""
    accepted = _cli(
        tmp_path,
        "detect",
        "--ssh",
        target,
        "--identity",
        key,
        "--json",
        "--accept-host-key",
        sshd.fingerprint,
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "Remembered the host key" in accepted.stderr
    facts = json.loads(accepted.stdout)["facts"]
    assert facts["source"] == "ssh"
    assert facts["system"]["is_root"] is True
    again = _cli(tmp_path, "detect", "--ssh", target, "--identity", key)
    assert again.returncode == 0, again.stderr
    assert "Remembered" not in again.stderr


def test_detect_refuses_to_measure_a_remote_disk(sshd: SshServer, tmp_path: Path) -> None:
    done = _cli(tmp_path, "detect", "--ssh", f"root@127.0.0.1:{sshd.port}", "--measure-disk")
    assert done.returncode == 2
    assert "--measure-disk times this machine's disk only" in done.stderr


def test_a_malformed_fingerprint_is_refused_before_connecting(tmp_path: Path) -> None:
    done = _cli(tmp_path, "detect", "--ssh", "root@127.0.0.1:1", "--accept-host-key", "SHA256:x")
    assert done.returncode == 2
    assert "'SHA256:x' is not a SHA256 fingerprint as ssh shows it" in done.stderr
