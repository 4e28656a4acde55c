"""apply.sh under compose restarts a service for changed files only if this run did not start it."""

import subprocess

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import apply_script

# Stand-ins for the engine: `compose ps` says which services ran, `docker inspect` which
# container each has; CONTAINERS_NOW is what `up` left.
ENGINE = """set -eu
DRY_RUN=0
COMPOSE=docker-compose
say() { printf '==> %s\\n' "$*"; }
note() { printf '    %s\\n' "$*"; }
fail() { printf 'apply.sh: %s\\n' "$*" >&2; exit 1; }
run_compose() { printf '+ compose %s\\n' "$*"; }
compose() {
    case "$*" in
        "ps --services --filter status=running") printf '%s\\n' $RUNNING ;;
        "ps -q") echo ids ;;
    esac
}
docker() { printf '%s\\n' "$CONTAINERS_NOW"; }
"""


def restart_functions() -> str:
    """Return apply.sh's functions that decide which compose services restart."""
    text = apply_script.apply_script(context_for(answers_for(database="postgresql")))
    start = text.index("# remember_running_services:")
    end = text.index("restart_turn() {")
    return text[start:end]


def decide(running: str, before: str, after: str, changed: str) -> str:
    """Return what restart_for says and does with the engine in the given states."""
    script = (
        ENGINE
        + restart_functions()
        + f'RUNNING="{running}"\nCONTAINERS_NOW="{before}"\nremember_running_services\n'
        + f'CONTAINERS_NOW="{after}"\nCONTAINERS_AFTER=$(container_ids)\n'
        + f'restart_for "{changed}"\n'
    )
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("running", "after", "restarted"),
    [
        ("synapse", "synapse a1", True),  # kept its container: it still reads the old file
        ("synapse", "synapse b2", False),  # up recreated it: it read the new file
        ("", "synapse b2", False),  # it was not running: up started it with the new file
    ],
)
def test_only_a_service_running_in_its_old_container_restarts(
    running: str, after: str, restarted: bool
) -> None:
    said = decide(running, "synapse a1", after, "synapse synapse/homeserver.yaml changed")
    assert ("+ compose restart synapse" in said) is restarted
    assert ("started above, so reading their files as they are: synapse" in said) is not restarted
    assert ("synapse: synapse/homeserver.yaml changed" in said) is restarted
