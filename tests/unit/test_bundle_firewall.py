"""firewall.sh opens exactly the ports the answers imply, with ufw or nftables."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import firewall
from wizard.bundle.model import EXECUTABLE

BASE = {("22", "tcp"), ("80", "tcp"), ("443", "tcp")}
TURN_PLAIN = {("3478", "tcp"), ("3478", "udp"), ("49152-49407", "udp")}
TURN_TLS = {("5349", "tcp"), ("5349", "udp")}


def opened(**sets: Any) -> set[tuple[str, str]]:
    ctx = context_for(answers_for(**sets))
    return {(rule.ports, rule.protocol) for rule in firewall.open_ports(ctx)}


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ({}, BASE | {("8448", "tcp")}),
        ({"proxy__federation_port": 443}, BASE),
        (
            {"firewall__ssh_port": 2222},
            (BASE - {("22", "tcp")}) | {("2222", "tcp"), ("8448", "tcp")},
        ),
        ({"calls__turn": True}, BASE | {("8448", "tcp")} | TURN_PLAIN | TURN_TLS),
        (
            {"calls__turn": True, "proxy": "caddy", "proxy__federation_port": 443},
            BASE | TURN_PLAIN,
        ),
        ({"calls__turn": True, "proxy": "traefik"}, BASE | {("8448", "tcp")} | TURN_PLAIN),
        (
            {
                "calls__turn": True,
                "calls__relay_min_port": 50000,
                "calls__relay_max_port": 50010,
                "deployment__ports__turn": 3479,
                "deployment__ports__https": 8443,
                "deployment__ports__http": 8080,
            },
            {("22", "tcp"), ("8080", "tcp"), ("8443", "tcp"), ("8448", "tcp")}
            | {("3479", "tcp"), ("3479", "udp"), ("50000-50010", "udp")}
            | TURN_TLS,
        ),
        ({"monitoring__prometheus": True, "monitoring__grafana": True}, BASE | {("8448", "tcp")}),
    ],
)
def test_exactly_the_ports_in_use_are_opened(sets: dict[str, Any], expected: set[Any]) -> None:
    assert opened(**sets) == expected


def test_a_port_shared_by_two_uses_is_opened_once() -> None:
    ctx = context_for(answers_for(firewall__ssh_port=443))
    rules = firewall.open_ports(ctx)
    assert [rule.ports for rule in rules].count("443") == 1


def test_nothing_when_no_firewall_is_wanted() -> None:
    assert firewall.render(context_for(answers_for(firewall__enabled=False))) == {}


def test_the_script_is_executable_and_valid_sh(tmp_path: Path) -> None:
    file = firewall.render(context_for(answers_for(calls__turn=True)))[firewall.FIREWALL_SCRIPT]
    assert file.mode == EXECUTABLE
    script = tmp_path / "firewall.sh"
    script.write_text(file.text)
    subprocess.run(["sh", "-n", str(script)], check=True)


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "firewall.sh"
    script.write_text(firewall.render(context_for(answers_for()))[firewall.FIREWALL_SCRIPT].text)
    result = subprocess.run(["sh", str(script), "--yes"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--dry-run" in result.stderr


def _run_without_firewall_tools(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the script with a PATH holding only the basic tools, neither ufw nor nft."""
    tools = script.parent / "bin"
    tools.mkdir()
    for name in ("id", "tr", "awk"):
        found = shutil.which(name)
        assert found is not None
        (tools / name).symlink_to(found)
    return subprocess.run(
        ["/bin/sh", str(script), *args],
        capture_output=True,
        text=True,
        env={"PATH": str(tools)},
    )


def test_a_dry_run_without_ufw_or_nft_shows_the_rules_and_the_missing_tool(
    tmp_path: Path,
) -> None:
    script = tmp_path / "firewall.sh"
    script.write_text(firewall.render(context_for(answers_for()))[firewall.FIREWALL_SCRIPT].text)
    result = _run_without_firewall_tools(script, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "neither ufw nor nft is installed; a real run stops here" in result.stdout
    assert 'tcp dport 8448 accept comment "federation"' in result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="a real run asks for root before it looks for a tool")
def test_a_real_run_without_ufw_or_nft_stops_and_says_what_to_install(tmp_path: Path) -> None:
    script = tmp_path / "firewall.sh"
    script.write_text(firewall.render(context_for(answers_for()))[firewall.FIREWALL_SCRIPT].text)
    result = _run_without_firewall_tools(script)
    assert result.returncode == 1
    assert "neither ufw nor nft is installed; install one (apt install ufw)" in result.stderr
