import pkgutil
import subprocess
import sys

import wizard
from tests.conftest import ROOT


def wizard_modules() -> list[str]:
    names = ["wizard"]
    for info in pkgutil.walk_packages(wizard.__path__, prefix="wizard."):
        if info.name != "wizard.__main__":
            names.append(info.name)
    return names


def test_there_are_modules_to_import() -> None:
    assert {"wizard.cli", "wizard.answers.model", "wizard.probe.facts"} <= set(wizard_modules())


def test_no_wizard_module_loads_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {wizard_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""
