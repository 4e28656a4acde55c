"""Write a native Dendrite bundle's build-dendrite.sh under a staging prefix, and run it."""

import os
import platform
import subprocess
from pathlib import Path

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import dendrite_build
from wizard.bundle.context import RenderContext

# What the tests build: the newest release the Go module proxy serves under this module path.
MODULE = "github.com/matrix-org/dendrite"
VERSION = "v0.13.8"
# The machines Go is pinned for, as uname -m names them, and as Go does.
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def go_architecture() -> str:
    """Return this machine's architecture as Go names it, skipping where Go is not pinned."""
    arch = ARCHITECTURES.get(platform.machine())
    if arch is None:
        pytest.skip(f"Go is pinned for amd64 and arm64, not {platform.machine()}")
    return arch


def staged_build_script(tmp_path: Path) -> tuple[RenderContext, Path]:
    """Return the context of a native Dendrite bundle under tmp_path/host, and its script."""
    answers = answers_for(
        homeserver="dendrite", deployment__kind="native", deployment__prefix=str(tmp_path / "host")
    )
    ctx = context_for(answers)
    script = tmp_path / dendrite_build.BUILD_SCRIPT
    script.write_text(dendrite_build.build_script(ctx), encoding="utf-8")
    return ctx, script


def run_build_script(
    script: Path, *args: str, path: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the script with the arguments, PATH replaced when given, and return what it did."""
    env = dict(os.environ) if path is None else {**os.environ, "PATH": path}
    return subprocess.run(
        ["/bin/sh", str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def release_dir(ctx: RenderContext, version: str = VERSION) -> Path:
    """Return the folder the script builds a release into, under the prefix."""
    return Path(dendrite_build.lib_dir(ctx)) / version
