"""Go programs built once per machine from the module proxy into a cache folder, for the tests.

It imports nothing but the standard library: `.ci/run` runs the builders with the system's
python3 before the test venv exists.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CACHE = Path.home() / ".cache" / "matrix-wizard-tests"
# Where the machine's Go is installed when it is not on PATH (real-programs.md).
MACHINE_GO = Path("/usr/local/go/bin/go")
BUILD_TIMEOUT = 1800


def find_go() -> str | None:
    """Return the Go program on PATH or the machine's own, or None when there is none."""
    found = shutil.which("go")
    if found:
        return found
    return str(MACHINE_GO) if MACHINE_GO.is_file() else None


def executable(folder: Path, programs: tuple[str, ...]) -> bool:
    """Return whether every program is in the folder and executable."""
    return all(os.access(folder / program, os.X_OK) for program in programs)


def install(
    go: str,
    packages: list[str],
    folder: Path,
    *,
    cgo: bool,
    renames: dict[str, str] | None = None,
) -> None:
    """Install the packages with `go install` into the folder, replacing it whole.

    They are built into a new folder beside it that is renamed into place at the end, so an
    interrupted build leaves nothing that looks finished. renames gives programs their names.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)
    try:
        subprocess.run(
            [go, "install", *packages],
            env={**os.environ, "GOBIN": str(staging), "CGO_ENABLED": "1" if cgo else "0"},
            capture_output=True,
            text=True,
            check=True,
            timeout=BUILD_TIMEOUT,
        )
        for built, name in (renames or {}).items():
            (staging / built).rename(staging / name)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def prebuild(
    what: str, folder: Path, is_built: Callable[[], bool], build: Callable[[str], Path]
) -> int:
    """Build for `.ci/run`, saying how long it took or that it was there already."""
    go = find_go()
    if go is None:
        print(f"Go is not installed: the tests need it to build {what}", file=sys.stderr)
        return 1
    if is_built():
        print(f"{what}: already built in {folder}")
        return 0
    started = time.monotonic()
    try:
        build(go)
    except subprocess.CalledProcessError as error:
        print(f"building {what} failed:\n{error.stderr}", file=sys.stderr)
        return 1
    print(f"{what}: built in {time.monotonic() - started:.0f} s into {folder}")
    return 0
