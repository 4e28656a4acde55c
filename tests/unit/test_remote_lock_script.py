"""The lock step of assets/remote-bundle.sh under dash, bash and busybox, run on this machine.

The step is the server's half of the apply lock: held from "locked" until its input ends.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import busybox_applets, next_line, require_program
from wizard.deliver.bundle_lock import describe_holder, lock_path
from wizard.paths import asset

TIMEOUT = 60


def shell_and_env(shell: str, tmp_path: Path) -> tuple[list[str], dict[str, str] | None]:
    """Return how to start the shell, and the environment it runs in (None: this one's)."""
    if shell == "busybox":
        path = busybox_applets(tmp_path / "busybox-bin", flock=True)
        return [f"{path}/sh"], {"PATH": path}
    require_program("flock")
    return [require_program(shell)], None


def lock_step(shell: list[str], target: Path, who: str) -> list[str]:
    """Return the command that runs the lock step."""
    return [*shell, str(asset("remote-bundle.sh")), "lock", str(target), who]


def take_at_once(
    shell: list[str], target: Path, who: str, env: dict[str, str] | None
) -> subprocess.CompletedProcess[str]:
    """Run the lock step with no input, so that one that takes the lock lets it go at once."""
    return subprocess.run(
        lock_step(shell, target, who),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_the_lock_is_held_until_input_ends_and_a_second_taker_is_told_who(
    shell: str, tmp_path: Path
) -> None:
    command, env = shell_and_env(shell, tmp_path)
    target = tmp_path / "server" / "matrix"
    lock_file = lock_path(target)
    first = subprocess.Popen(
        lock_step(command, target, "matrix-wizard apply from me@laptop"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert next_line(first.stdout, TIMEOUT) == f"target\t{target}\n"
        assert next_line(first.stdout, TIMEOUT) == f"locked\t{lock_file}\n"
        record = lock_file.read_text(encoding="utf-8")
        assert describe_holder(record).startswith(
            f"pid {first.pid} (matrix-wizard apply from me@laptop), since "
        )
        second = take_at_once(command, target, "another", env)
        assert second.returncode == 1, second.stderr
        assert second.stdout == (
            f"target\t{target}\n"
            + "".join(f"holder\t{line}\n" for line in record.splitlines())
            + f"busy\t{lock_file}\n"
        )
        assert first.stdin is not None
        first.stdin.close()
        assert first.wait(timeout=TIMEOUT) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=TIMEOUT)
    assert not lock_file.exists()
    third = take_at_once(command, target, "third", env)
    assert (third.returncode, third.stdout) == (0, f"target\t{target}\nlocked\t{lock_file}\n")
    assert list(target.parent.iterdir()) == []


def test_without_flock_the_lock_step_says_so_and_holds_nothing(tmp_path: Path) -> None:
    path = busybox_applets(tmp_path / "busybox-bin", flock=False)
    assert shutil.which("flock", path=path) is None
    target = tmp_path / "server" / "matrix"
    step = subprocess.Popen(
        lock_step([f"{path}/sh"], target, "me"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": path},
    )
    try:
        assert next_line(step.stdout, TIMEOUT) == f"target\t{target}\n"
        assert next_line(step.stdout, TIMEOUT) == "unlocked\tno flock\n"
        assert step.wait(timeout=TIMEOUT) == 0
    finally:
        if step.poll() is None:
            step.kill()
        step.communicate(timeout=TIMEOUT)
    assert list(target.parent.iterdir()) == []
