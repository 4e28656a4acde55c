"""The command line, run as a person runs it: in a subprocess, reading stdout, stderr and status."""

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli

COMMANDS = ["detect", "plan", "profiles", "hardware", "schema", "answers"]
TIERS = {"below-minimum", "minimum", "recommended", "production"}


def assert_one_clear_line(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.strip().count("\n") == 0, stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: matrix-wizard" in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("matrix-wizard 0.")


def test_detect_json_has_facts_and_a_fit_per_homeserver() -> None:
    result = run_cli("detect", "--json", "--data-path", "/tmp")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["facts"]["disk"]["path"] == "/tmp"
    assert report["facts"]["cpu"]["logical"] >= 1
    assert [fit["homeserver"] for fit in report["fits"]] == [
        "synapse",
        "dendrite",
        "conduit",
        "continuwuity",
        "tuwunel",
    ]
    assert {fit["tier"] for fit in report["fits"]} <= TIERS


def test_detect_prints_a_readable_table() -> None:
    result = run_cli("detect")
    assert result.returncode == 0, result.stderr
    assert "synapse" in result.stdout.lower()
    assert all(len(line) <= 100 for line in result.stdout.splitlines())


def test_plan_by_flags() -> None:
    result = run_cli("plan", "--cpus", "2", "--ram", "4G", "--disk", "60G", "--ssd", "--json")
    assert result.returncode == 0, result.stderr
    fits = {fit["homeserver"]: fit["tier"] for fit in json.loads(result.stdout)["fits"]}
    assert fits["synapse"] == "recommended"
    assert fits["conduit"] == "recommended"


def test_plan_for_one_homeserver() -> None:
    result = run_cli(
        "plan", "--cpus", "1", "--ram", "512M", "--disk", "10G", "--homeserver", "synapse", "--json"
    )
    fits = json.loads(result.stdout)["fits"]
    assert [(fit["homeserver"], fit["tier"]) for fit in fits] == [("synapse", "below-minimum")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "--cpus", "2", "--ram", "4X", "--disk", "60G"], "512M"),
        (["plan", "--cpus", "-2", "--ram", "4G", "--disk", "60G"], "at least 1"),
        (["plan", "--cpus", "two", "--ram", "4G", "--disk", "60G"], "whole number"),
        (["plan", "--profile", "no-such-machine"], "no-such-machine"),
        (["plan", "--cpus", "2"], "--ram"),
        (["detect", "--data-path", "/etc/hostname/data"], "--data-path"),
        (
            [
                "answers",
                "--homeserver",
                "conduit",
                "--server-name",
                "example.com",
                "--database",
                "postgresql",
            ],
            "Conduit has no PostgreSQL",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args: list[str], says: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result
    assert says in result.stderr
    if args[0] != "answers":
        assert_one_clear_line(result.stderr)
    assert "Traceback" not in result.stderr


def test_answers_refuses_an_ip_server_name_at_once_in_one_line() -> None:
    result = run_cli("answers", "--homeserver", "synapse", "--server-name", "[::1]:8448")
    assert result.returncode == 2
    assert_one_clear_line(result.stderr)
    assert result.stderr.startswith(
        "matrix-wizard answers: error: argument --server-name: '[::1]:8448' is a loopback "
        "address, which only this machine can reach; this wizard serves a domain name, such as "
        "example.com, since an IP server name gets no delegation and no ACME certificate"
    )


def test_answers_names_the_server_name_inside_a_url() -> None:
    result = run_cli("answers", "--homeserver", "synapse", "--server-name", "https://example.org")
    assert result.returncode == 2
    assert_one_clear_line(result.stderr)
    assert "is a URL: drop the scheme and write 'example.org'" in result.stderr


def test_answers_prints_a_complete_file_that_parses_back(tmp_path: Path) -> None:
    result = run_cli(
        "answers",
        "--homeserver",
        "synapse",
        "--server-name",
        "Example.com",
        "--set",
        "calls.turn=true",
        "--set",
        "media.max_upload_mb=100",
    )
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["domain"]["server_name"] == "example.com"
    assert data["calls"] == {**data["calls"], "turn": True, "turn_host": "turn.example.com"}
    assert data["media"]["max_upload_mb"] == 100
    assert data["database"]["kind"] == "postgresql"
    assert "lower case" in result.stderr


def test_answers_with_bad_set() -> None:
    result = run_cli(
        "answers", "--homeserver", "synapse", "--server-name", "example.com", "--set", "nonsense"
    )
    assert result.returncode == 2
    assert "section.key=value" in result.stderr


def test_schema_is_json_schema_of_every_section() -> None:
    result = run_cli("schema")
    schema = json.loads(result.stdout)
    assert {"homeserver", "domain", "database", "proxy", "calls"} <= set(schema["properties"])
