"""Entry: a one-line text input without a border, so a form fits in 80x24."""

from collections.abc import Iterable

from textual.validation import Validator
from textual.widgets import Input

from screens.widgets.release import release_selection_signal


class Entry(Input):
    """A compact Input; outside text shown in it is never parsed as markup."""

    def __init__(
        self,
        value: str = "",
        *,
        id: str | None = None,
        placeholder: str = "",
        validators: Iterable[Validator] = (),
    ) -> None:
        super().__init__(
            value, placeholder=placeholder, id=id, validators=list(validators), compact=True
        )

    def on_unmount(self) -> None:
        """Drop the selection subscription that would keep this widget alive once removed."""
        release_selection_signal(self)
