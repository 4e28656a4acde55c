"""firewall.sh run for real: nft checks its rules, the real sshd tells it the SSH ports to keep.

Every run has a PATH holding only the tools a test chooses and an environment the test sets.
A dry run changes nothing. The one real run happens in a private network namespace (its own,
empty nftables ruleset) over a copy of /etc in a private mount namespace, so the host's
firewall and files are never touched; the systemd that would load the rules at boot does not
run here, so the boot is played by loading /etc/nftables.conf in that namespace.
"""

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import answers_for, context_for
from tests.conftest import require_program
from tests.waiting import wait_until
from wizard.bundle import firewall

pytestmark = pytest.mark.integration

BASIC_TOOLS = ("id", "tr", "awk", "grep", "mkdir", "mv", "chmod")
SESSION = "203.0.113.9 50022 198.51.100.1 2200"
RULES_FILE = "/etc/nftables.d/matrix-wizard.nft"
INCLUDE_LINE = f'include "{RULES_FILE}"'


def script_for(folder: Path, **sets: Any) -> tuple[Path, list[firewall.PortRule]]:
    ctx = context_for(answers_for(**sets))
    script = folder / firewall.FIREWALL_SCRIPT
    script.write_text(firewall.render(ctx)[firewall.FIREWALL_SCRIPT].text)
    return script, firewall.open_ports(ctx)


def tools(folder: Path, *programs: str) -> Path:
    """Return a folder of links to the basic tools and the named programs, for PATH."""
    folder.mkdir()
    for name in (*BASIC_TOOLS, *programs):
        (folder / name).symlink_to(require_program(name))
    return folder


def sshd_with(folder: Path, tool_dir: Path, *config: str) -> None:
    """Put the real sshd on PATH, reading a test's own sshd_config and host key."""
    real = require_program("sshd")
    key = folder / "host_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60
    )
    settings = folder / "sshd_config"
    settings.write_text("\n".join([*config, f"HostKey {key}", "UsePAM no"]) + "\n")
    wrapper = tool_dir / "sshd"
    wrapper.write_text(f'#!/bin/sh\nexec {real} -f {settings} "$@"\n')
    wrapper.chmod(0o755)


def run_script(
    script: Path, tool_dir: Path, *args: str, session: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run firewall.sh with only tool_dir on PATH, in a mount namespace where /run/sshd exists.

    sshd -T refuses to run without its privilege separation folder /run/sshd, which this
    machine has not; a tmpfs on /run in a private mount namespace gives it one.
    """
    env = {"PATH": str(tool_dir)}
    if session is not None:
        env["SSH_CONNECTION"] = session
    mount = require_program("mount")
    command = f'{mount} -t tmpfs tmpfs /run && mkdir /run/sshd && exec /bin/sh "{script}" "$@"'
    unshare = require_program("unshare")
    return subprocess.run(
        [unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", command, "sh", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def ruleset_of(printed: str) -> str:
    """Return the rules file a dry run shows it would write."""
    lines = printed.splitlines()
    first = lines.index(f"+ write {RULES_FILE}:") + 1
    return "\n".join(lines[first : lines.index(f"+ nft -f {RULES_FILE}")]) + "\n"


def opened(ruleset: str) -> set[tuple[str, str]]:
    """Return the (ports, protocol) each port rule opens to every interface."""
    return {
        (words[2], words[0])
        for words in (line.split() for line in ruleset.splitlines())
        if words[1:2] == ["dport"]
    }


def container_dns_rules(ruleset: str) -> list[str]:
    """Return the rules that let containers on podman's bridges ask the gateway for names."""
    return [line.strip() for line in ruleset.splitlines() if '"container-dns"' in line]


def nft_accepts(ruleset: str) -> None:
    checked = subprocess.run(
        [require_program("nft"), "-c", "-f", "-"], input=ruleset, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("private mount and network namespaces need root")


@pytest.mark.parametrize(
    "sets",
    [
        {},
        {"calls__turn": True},
        {"calls__turn": True, "proxy": "caddy", "proxy__federation_port": 443},
    ],
    ids=["default", "turn-tls", "turn-plain"],
)
def test_the_nftables_rules_are_valid_and_exactly_the_ports_in_use(
    sets: dict[str, Any], tmp_path: Path, need_root: None
) -> None:
    script, rules = script_for(tmp_path, **sets)
    printed = run_script(script, tools(tmp_path / "bin", "nft"), "--dry-run")
    assert printed.returncode == 0, printed.stderr
    ruleset = ruleset_of(printed.stdout)
    nft_accepts(ruleset)
    assert opened(ruleset) == {(rule.ports, rule.protocol) for rule in rules}
    assert "also keeping" not in printed.stdout


@pytest.mark.parametrize("deployment", ["compose", "native"])
def test_only_a_compose_bundle_lets_podman_containers_reach_their_name_server(
    deployment: str, tmp_path: Path, need_root: None
) -> None:
    script, _ = script_for(tmp_path, deployment__kind=deployment)
    printed = run_script(script, tools(tmp_path / "bin", "nft"), "--dry-run")
    assert printed.returncode == 0, printed.stderr
    ruleset = ruleset_of(printed.stdout)
    nft_accepts(ruleset)
    dns = container_dns_rules(ruleset)
    if deployment == "native":
        assert dns == []
        return
    assert [rule.split()[1] for rule in dns] == ['"podman*"', '"cni-podman*"']
    assert all("th dport 53 accept" in rule for rule in dns)


def test_with_ufw_present_the_same_ports_are_allowed(tmp_path: Path, need_root: None) -> None:
    script, rules = script_for(tmp_path, calls__turn=True)
    tool_dir = tools(tmp_path / "bin")
    stub = tool_dir / "ufw"  # never run for real here: a dry run only prints ufw's commands
    stub.write_text("#!/bin/sh\nexit 1\n")
    stub.chmod(0o755)
    printed = run_script(script, tool_dir, "--dry-run", session=SESSION)
    assert printed.returncode == 0, printed.stderr
    allowed = {
        tuple(line.split()[3].split("/"))
        for line in printed.stdout.splitlines()
        if line.startswith("+ ufw allow ")
    }
    expected = {(rule.ports.replace("-", ":"), rule.protocol) for rule in rules}
    assert allowed == expected | {("2200", "tcp")}
    assert "+ ufw default deny incoming" in printed.stdout


def test_a_dry_run_keeps_the_ports_sshd_uses_and_the_session_port_and_says_so(
    tmp_path: Path, need_root: None
) -> None:
    script, rules = script_for(tmp_path)
    tool_dir = tools(tmp_path / "bin", "nft")
    sshd_with(tmp_path, tool_dir, "Port 2222", "ListenAddress 0.0.0.0", "ListenAddress [::]:2300")
    printed = run_script(script, tool_dir, "--dry-run", session=SESSION)
    assert printed.returncode == 0, printed.stderr
    out = printed.stdout
    assert "also keeping port 2222/tcp open: sshd is set to listen on it" in out
    assert "also keeping port 2300/tcp open: sshd is set to listen on it" in out
    assert "also keeping port 2200/tcp open: this SSH session came in on it" in out
    assert "(the answers name SSH port 22)" in out
    ruleset = ruleset_of(out)
    nft_accepts(ruleset)
    kept = {("2222", "tcp"), ("2300", "tcp"), ("2200", "tcp")}
    assert opened(ruleset) == {(rule.ports, rule.protocol) for rule in rules} | kept


def test_nothing_more_is_kept_when_sshd_and_the_session_use_the_answered_port(
    tmp_path: Path, need_root: None
) -> None:
    script, rules = script_for(tmp_path, firewall__ssh_port=2222)
    tool_dir = tools(tmp_path / "bin", "nft")
    sshd_with(tmp_path, tool_dir, "Port 2222")
    printed = run_script(
        script, tool_dir, "--dry-run", session="203.0.113.9 50022 198.51.100.1 2222"
    )
    assert printed.returncode == 0, printed.stderr
    assert "also keeping" not in printed.stdout
    assert opened(ruleset_of(printed.stdout)) == {(rule.ports, rule.protocol) for rule in rules}


def test_a_malformed_session_or_port_is_ignored_not_written(
    tmp_path: Path, need_root: None
) -> None:
    script, rules = script_for(tmp_path)
    tool_dir = tools(tmp_path / "bin", "nft")
    for session in ("203.0.113.9 50022 198.51.100.1 22;reboot", "a b c 99999", "* * * *"):
        printed = run_script(script, tool_dir, "--dry-run", session=session)
        assert printed.returncode == 0, printed.stderr
        assert opened(ruleset_of(printed.stdout)) == {(r.ports, r.protocol) for r in rules}


@pytest.fixture
def listening_sshd(tmp_path: Path, need_root: None) -> Iterator[int]:
    """Run the real sshd on a free loopback port, in a private mount namespace."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    folder = tmp_path / "sshd"
    folder.mkdir()
    key = folder / "host_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60
    )
    config = folder / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nUsePAM no\n")
    command = (
        "mount -t tmpfs tmpfs /run && mkdir /run/sshd && "
        f"exec {require_program('sshd')} -D -e -f {config}"
    )
    server = subprocess.Popen(
        [require_program("unshare"), "--mount", "--propagation", "private", "sh", "-c", command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ss = require_program("ss")
        wait_until(
            lambda: (
                f":{port} " in subprocess.run([ss, "-Htlnp"], capture_output=True).stdout.decode()
            ),
            f"sshd to listen on port {port}",
        )
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_dry_run_keeps_the_port_a_running_sshd_listens_on(
    listening_sshd: int, tmp_path: Path
) -> None:
    script, _ = script_for(tmp_path)
    printed = run_script(script, tools(tmp_path / "bin", "nft", "ss"), "--dry-run")
    assert printed.returncode == 0, printed.stderr
    assert f"also keeping port {listening_sshd}/tcp open: sshd listens on it" in printed.stdout
    assert (str(listening_sshd), "tcp") in opened(ruleset_of(printed.stdout))


def test_a_dry_run_shows_how_the_rules_are_kept_across_reboots(
    tmp_path: Path, need_root: None
) -> None:
    script, _ = script_for(tmp_path)
    printed = run_script(script, tools(tmp_path / "bin", "nft", "systemctl"), "--dry-run")
    assert printed.returncode == 0, printed.stderr
    assert f"kept in {RULES_FILE}" in printed.stdout
    assert "+ systemctl enable nftables" in printed.stdout
    if INCLUDE_LINE not in Path("/etc/nftables.conf").read_text().splitlines():
        assert f"+ append to /etc/nftables.conf: {INCLUDE_LINE}" in printed.stdout
    assert not Path(RULES_FILE).exists()


def test_a_real_run_loads_the_rules_and_keeps_them_for_the_next_boot_once(
    tmp_path: Path, need_root: None
) -> None:
    """Run firewall.sh twice for real in private namespaces, then replay the boot's loading.

    nftables.service itself does not run (no systemd here): `systemctl enable` is checked by
    the link it makes, and the boot by `nft -f /etc/nftables.conf` in the same namespace.
    """
    unshare, mount, ip, nft = (require_program(name) for name in ("unshare", "mount", "ip", "nft"))
    script, rules = script_for(tmp_path)
    etc = tmp_path / "etc"
    shutil.copytree("/etc", etc, symlinks=True, ignore_dangling_symlinks=True)
    tool_dir = tools(tmp_path / "bin", "nft", "systemctl")
    host_netns = os.readlink("/proc/self/ns/net")
    inside = "\n".join(
        [
            "set -eu",
            # Refuse to go on unless this is a network namespace of its own.
            f"inner=$({require_program('readlink')} /proc/self/ns/net)",
            f'[ -n "$inner" ] && [ "$inner" != "{host_netns}" ] || exit 99',
            f"{mount} --bind {etc} /etc",
            f"{ip} link set lo up",
            f'/bin/sh "{script}"',
            f'/bin/sh "{script}"',
            "echo '--- after two runs'",
            f"{nft} list table inet matrix_wizard",
            f"{nft} flush ruleset",
            f"{nft} -f /etc/nftables.conf",
            "echo '--- after the boot'",
            f"{nft} list table inet matrix_wizard",
        ]
    )
    done = subprocess.run(
        [unshare, "--net", "--mount", "--propagation", "private", "/bin/sh", "-c", inside],
        capture_output=True,
        text=True,
        env={"PATH": str(tool_dir), "SSH_CONNECTION": SESSION},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    after_runs, after_boot = done.stdout.split("--- after two runs")[1].split("--- after the boot")
    expected = {(rule.ports, rule.protocol) for rule in rules} | {("2200", "tcp")}
    assert opened(after_runs) == expected
    assert opened(after_boot) == expected
    assert "policy drop" in after_boot
    conf = (etc / "nftables.conf").read_text().splitlines()
    assert conf.count(INCLUDE_LINE) == 1
    assert (etc / "nftables.d" / "matrix-wizard.nft").is_file()
    assert not (etc / "nftables.d" / "matrix-wizard.nft.new").exists()
    enabled = etc / "systemd" / "system" / "sysinit.target.wants" / "nftables.service"
    assert enabled.is_symlink()
