"""Dendrite's programs built once per machine with Go from the module proxy, for the e2e tests.

The build goes to a cache folder outside the repository and is reused while all its programs
are there, so a later run on the same machine does not build again (tests/go_build.py).
"""

import sys
from pathlib import Path

from tests import go_build
from tests.go_build import find_go

__all__ = ["find_go"]

MODULE = "github.com/matrix-org/dendrite"
# The newest release the Go module proxy serves under the matrix-org path (real-programs.md);
# the bundle pins a newer one for users (wizard/bundle/versions.py).
VERSION = "v0.13.8"
PROGRAMS = ("dendrite", "generate-keys", "create-account")
BUILD_DIR = go_build.CACHE / f"dendrite-{VERSION}"


def is_built(folder: Path = BUILD_DIR) -> bool:
    """Return whether every program of the build is in the folder and executable."""
    return go_build.executable(folder, PROGRAMS)


def build(go: str, folder: Path = BUILD_DIR) -> Path:
    """Build the programs into the folder unless they are there, and return the folder."""
    if not is_built(folder):
        packages = [f"{MODULE}/cmd/{program}@{VERSION}" for program in PROGRAMS]
        go_build.install(go, packages, folder, cgo=True)  # cgo: go-sqlite3
    return folder


if __name__ == "__main__":
    sys.exit(go_build.prebuild(f"Dendrite {VERSION}", BUILD_DIR, is_built, build))
