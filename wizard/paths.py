"""Locate the data files in assets/, both in a source tree and in an installed wheel."""

from functools import cache
from pathlib import Path


@cache
def assets_dir() -> Path:
    """Return the folder holding tiers.yaml, profiles and templates."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "assets", here.parent / "assets"):
        if (candidate / "tiers.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"the assets folder is missing beside {here}")


def asset(relative: str) -> Path:
    """Return the path of one file in assets/."""
    return assets_dir() / relative
