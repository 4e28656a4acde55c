"""Read a template file of named sections from assets/templates/ and fill them."""

from functools import cache
from string import Template

from wizard.paths import asset

SECTION_MARKER = "#% "


@cache
def template_sections(name: str) -> dict[str, Template]:
    """Return the sections of assets/templates/<name>, each begun by a line `#% section-name`.

    Lines before the first marker describe the file and are left out.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    text = asset(f"templates/{name}").read_text(encoding="utf-8")
    for line in text.splitlines(keepends=True):
        if line.startswith(SECTION_MARKER):
            current = sections.setdefault(line[len(SECTION_MARKER) :].strip(), [])
        elif current is not None:
            current.append(line)
    return {key: Template("".join(lines)) for key, lines in sections.items()}


def fill(template: str, section: str, /, **values: str | int) -> str:
    """Return one section of a template with every placeholder filled; a missing one raises."""
    return template_sections(template)[section].substitute(values)
