"""Run matrix-wizard as a person does from their laptop, for the journey tests."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def wizard(*args: str, home: Path, with_errors: bool = False) -> str:
    """Run matrix-wizard with its own HOME (its known_hosts) and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"matrix-wizard {args[0]}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr if with_errors else done.stdout
