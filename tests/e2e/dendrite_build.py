"""Dendrite's programs built once per machine with Go from the module proxy, for the e2e tests.

The build goes to a cache folder outside the repository and is reused while all its programs
are there, so a later run on the same machine does not build again. It imports nothing but the
standard library: `.ci/run` runs it with the system's python3 before the test venv exists.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULE = "github.com/matrix-org/dendrite"
# The newest release the Go module proxy serves under the matrix-org path (real-programs.md);
# the bundle pins a newer one for users (wizard/bundle/versions.py).
VERSION = "v0.13.8"
PROGRAMS = ("dendrite", "generate-keys", "create-account")
BUILD_DIR = Path.home() / ".cache" / "matrix-wizard-tests" / f"dendrite-{VERSION}"
# Where the machine's Go is installed when it is not on PATH (real-programs.md).
MACHINE_GO = Path("/usr/local/go/bin/go")
BUILD_TIMEOUT = 1800


def find_go() -> str | None:
    """Return the Go program on PATH or the machine's own, or None when there is none."""
    found = shutil.which("go")
    if found:
        return found
    return str(MACHINE_GO) if MACHINE_GO.is_file() else None


def is_built(folder: Path = BUILD_DIR) -> bool:
    """Return whether every program of the build is in the folder and executable."""
    return all(os.access(folder / program, os.X_OK) for program in PROGRAMS)


def build(go: str, folder: Path = BUILD_DIR) -> Path:
    """Build the programs into the folder unless they are there, and return the folder.

    They are built into a new folder beside it that is renamed into place at the end, so an
    interrupted build leaves nothing that looks finished.
    """
    if is_built(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)
    try:
        subprocess.run(
            [go, "install", *(f"{MODULE}/cmd/{program}@{VERSION}" for program in PROGRAMS)],
            env={**os.environ, "GOBIN": str(staging), "CGO_ENABLED": "1"},  # cgo: go-sqlite3
            capture_output=True,
            text=True,
            check=True,
            timeout=BUILD_TIMEOUT,
        )
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def main() -> int:
    """Build Dendrite for the tests, saying how long it took or that it was there already."""
    go = find_go()
    if go is None:
        print("Go is not installed: the Dendrite end-to-end tests need it", file=sys.stderr)
        return 1
    if is_built():
        print(f"Dendrite {VERSION}: already built in {BUILD_DIR}")
        return 0
    started = time.monotonic()
    try:
        build(go)
    except subprocess.CalledProcessError as error:
        print(f"building Dendrite {VERSION} failed:\n{error.stderr}", file=sys.stderr)
        return 1
    print(f"Dendrite {VERSION}: built in {time.monotonic() - started:.0f} s into {BUILD_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
