"""Fill the shell templates in assets/templates/ with values quoted for POSIX sh."""

import re
import shlex
from collections.abc import Iterable, Mapping
from string import Template

from wizard.errors import WizardError
from wizard.paths import asset

_SAFE_WORD = re.compile(r"^[A-Za-z0-9._+/:@%=,-]+$")


class ShellTemplate(Template):
    """A template whose placeholders are written @@name, so the shell's own $ stays untouched."""

    delimiter = "@@"


def quote(value: str | int) -> str:
    """Return a value quoted as one word for POSIX sh."""
    return shlex.quote(str(value))


def word(value: str | int) -> str:
    """Return a value that must be one plain word (a path, a port, a name), else fail loudly."""
    text = str(value)
    if not _SAFE_WORD.match(text):
        raise WizardError(
            f"{text!r} cannot be written into a shell script: it holds spaces or shell characters",
            "use only letters, digits and . _ + / : @ % = , - in paths and names",
        )
    return text


def table(rows: Iterable[Iterable[str | int]]) -> str:
    """Return rows of plain words as one quoted shell string, a row a line, for `while read`."""
    lines = [" ".join(word(cell) for cell in row) for row in rows]
    return quote("\n".join(lines))


def fragment(name: str, values: Mapping[str, str] | None = None) -> str:
    """Return a template from assets/templates/ filled with already-quoted values."""
    text = asset(f"templates/{name}").read_text(encoding="utf-8")
    try:
        return ShellTemplate(text).substitute(values or {})
    except (KeyError, ValueError) as error:
        raise WizardError(
            f"the template {name} has a placeholder with no value: {error}",
            "this is a bug in matrix-wizard; please report it",
        ) from None
