"""Build the wheel, install it into a fresh virtual environment, and run it from there."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_installed_wheel_carries_assets_and_plans(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("matrix_wizard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "wizard/assets/tiers.yaml" in names
    assert any(name.startswith("wizard/assets/profiles/") for name in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [
            str(venv / "bin" / "matrix-wizard"),
            "plan",
            "--cpus",
            "2",
            "--ram",
            "4G",
            "--disk",
            "60G",
            "--ssd",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    report = json.loads(result.stdout)
    assert {fit["homeserver"] for fit in report["fits"]} == {
        "synapse",
        "dendrite",
        "conduit",
        "continuwuity",
        "tuwunel",
    }
    # The known keys ship too: the installed wizard checks a tuwunel bundle against them.
    program = str(venv / "bin" / "matrix-wizard")
    answers = subprocess.run(
        [program, "answers", "--homeserver", "tuwunel", "--server-name", "example.com"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "answers.yaml").write_text(answers)
    bundle = tmp_path / "bundle"
    generate = [program, "generate", "--answers", str(tmp_path / "answers.yaml")]
    subprocess.run([*generate, "--out", str(bundle)], capture_output=True, check=True)
    checked = subprocess.run(
        [program, "check", str(bundle), "--json"], capture_output=True, text=True, check=False
    )
    results = {item["file"]: item for item in json.loads(checked.stdout)}
    assert results["tuwunel/tuwunel.toml"]["status"] == "passed", results
