"""Shared test helpers: real programs are required under CI and skipped with a reason elsewhere."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def require_program(name: str) -> str:
    """Return the path of a real program, skipping the test when it is absent outside CI."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (.ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``python -m wizard`` with the given arguments in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=check,
        timeout=120,
    )
