"""apply.sh's hint for a homeserver that does not answer names the compose program the host has."""

import re
import subprocess

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import apply_script

pytestmark = pytest.mark.integration


def log_hint(deployment: str, compose_program: str | None) -> str:
    """Run apply.sh's own log_command with its LOG_COMMAND and the host's compose program."""
    ctx = context_for(answers_for(deployment__kind=deployment))
    script = apply_script.render(ctx)[apply_script.APPLY_SCRIPT].text
    function = re.search(r"^log_command\(\) \{\n.*?^\}\n", script, re.MULTILINE | re.DOTALL)
    setting = re.search(r"^LOG_COMMAND=.*$", script, re.MULTILINE)
    assert function and setting, "apply.sh lost log_command or LOG_COMMAND"
    compose = f"COMPOSE='{compose_program}'\n" if compose_program else ""
    program = f"{setting.group(0)}\n{compose}{function.group(0)}log_command\n"
    done = subprocess.run(["sh", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_hint_names_the_older_docker_compose_where_that_is_the_program() -> None:
    hint = log_hint("compose", "docker-compose")
    assert hint == "docker-compose -f /opt/matrix-wizard/docker-compose.yml logs synapse"


def test_the_hint_names_the_compose_plugin_where_that_is_the_program() -> None:
    hint = log_hint("compose", "docker compose")
    assert hint == "docker compose -f /opt/matrix-wizard/docker-compose.yml logs synapse"


def test_a_native_hint_is_journalctl() -> None:
    assert log_hint("native", None) == "journalctl -u matrix-synapse"
