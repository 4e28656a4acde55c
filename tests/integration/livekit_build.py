"""LiveKit's server built once per machine with Go from the module proxy, for the MatrixRTC tests.

The build goes to a cache folder outside the repository and is reused while the program is
there (tests/go_build.py).
"""

import sys
from pathlib import Path

from tests import go_build

MODULE = "github.com/livekit/livekit-server"
# The newest release whose go.mod has no replace directives (later ones replace pion modules
# with forks the module proxy does not serve, and go install refuses replace directives); the
# bundle pins the same release (wizard/bundle/versions.py).
VERSION = "v1.13.5"
PROGRAM = "livekit-server"
BUILD_DIR = go_build.CACHE / f"livekit-{VERSION}"


def program_path(folder: Path = BUILD_DIR) -> Path:
    """Return where the built LiveKit server is."""
    return folder / PROGRAM


def is_built(folder: Path = BUILD_DIR) -> bool:
    """Return whether the built program is in the folder and executable."""
    return go_build.executable(folder, (PROGRAM,))


def build(go: str, folder: Path = BUILD_DIR) -> Path:
    """Build LiveKit's server into the folder unless it is there, and return the folder."""
    if not is_built(folder):
        package = f"{MODULE}/cmd/server@{VERSION}"
        go_build.install(go, [package], folder, cgo=False, renames={"server": PROGRAM})
    return folder


if __name__ == "__main__":
    sys.exit(go_build.prebuild(f"LiveKit {VERSION}", BUILD_DIR, is_built, build))
