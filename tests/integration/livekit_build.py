"""LiveKit's server built once per machine with Go from the module proxy, for the MatrixRTC tests.

The build goes to a cache folder outside the repository and is reused while the program is
there. It imports nothing but the standard library: `.ci/run` runs it with the system's python3
before the test venv exists.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULE = "github.com/livekit/livekit-server"
# The newest release whose go.mod has no replace directives (later ones replace pion modules
# with forks the module proxy does not serve, and go install refuses replace directives); the
# bundle pins the same release (wizard/bundle/versions.py).
VERSION = "v1.13.5"
PROGRAM = "livekit-server"
BUILD_DIR = Path.home() / ".cache" / "matrix-wizard-tests" / f"livekit-{VERSION}"
# Where the machine's Go is installed when it is not on PATH.
MACHINE_GO = Path("/usr/local/go/bin/go")
BUILD_TIMEOUT = 1800


def find_go() -> str | None:
    """Return the Go program on PATH or the machine's own, or None when there is none."""
    found = shutil.which("go")
    if found:
        return found
    return str(MACHINE_GO) if MACHINE_GO.is_file() else None


def program_path(folder: Path = BUILD_DIR) -> Path:
    """Return where the built LiveKit server is."""
    return folder / PROGRAM


def is_built(folder: Path = BUILD_DIR) -> bool:
    """Return whether the built program is in the folder and executable."""
    return os.access(program_path(folder), os.X_OK)


def build(go: str, folder: Path = BUILD_DIR) -> Path:
    """Build LiveKit's server into the folder unless it is there, and return the folder.

    It is built into a new folder beside it that is renamed into place at the end, so an
    interrupted build leaves nothing that looks finished.
    """
    if is_built(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)
    try:
        subprocess.run(
            [go, "install", f"{MODULE}/cmd/server@{VERSION}"],
            env={**os.environ, "GOBIN": str(staging), "CGO_ENABLED": "0"},
            capture_output=True,
            text=True,
            check=True,
            timeout=BUILD_TIMEOUT,
        )
        (staging / "server").rename(program_path(staging))
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def main() -> int:
    """Build LiveKit for the tests, saying how long it took or that it was there already."""
    go = find_go()
    if go is None:
        print("Go is not installed: the MatrixRTC tests need it to build LiveKit", file=sys.stderr)
        return 1
    if is_built():
        print(f"LiveKit {VERSION}: already built in {BUILD_DIR}")
        return 0
    started = time.monotonic()
    try:
        build(go)
    except subprocess.CalledProcessError as error:
        print(f"building LiveKit {VERSION} failed:\n{error.stderr}", file=sys.stderr)
        return 1
    print(f"LiveKit {VERSION}: built in {time.monotonic() - started:.0f} s into {BUILD_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
