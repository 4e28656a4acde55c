"""One family of errors that carry a message for the person and a hint on what to do."""


class WizardError(Exception):
    """A failure the person can act on: what went wrong, and how to put it right."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or []

    def __str__(self) -> str:
        head = f"{self.message}: {self.hint}" if self.hint else self.message
        return "\n".join([head, *(f"  {line}" for line in self.details)])


class UsageError(WizardError):
    """Bad input on the command line or in a file: the person must change what they gave."""

    exit_code = 2


def quoted(text: str, limit: int = 40) -> str:
    """Return text quoted for a message, cut short when long so that the message stays one line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"
