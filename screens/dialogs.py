"""Dialogs over a step: help, quitting, replacing a file, an SSH host key, a secret, applying."""

from pathlib import Path
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Markdown, Static

from screens.remote import HostKey

QuitChoice = Literal["save", "discard"]


def without_heading(markdown: str) -> str:
    """Return Markdown without its opening first-level heading, which the dialog's title says."""
    first, _, rest = markdown.lstrip().partition("\n")
    return rest.lstrip("\n") if first.startswith("# ") else markdown


class HelpDialog(ModalScreen[None]):
    """The help for one step, as Markdown; any of Escape, F1 or Enter closes it.

    The arrows and PageUp, PageDown, Home and End scroll the help, which is no Tab stop.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,enter", "close", "Close help", tooltip="Back to the step"),
        Binding("up", "scroll('scroll_up')", "Scroll up", show=False),
        Binding("down", "scroll('scroll_down')", "Scroll down", show=False),
        Binding("pageup", "scroll('scroll_page_up')", "Page up", show=False),
        Binding("pagedown", "scroll('scroll_page_down')", "Page down", show=False),
        Binding("home", "scroll('scroll_home')", "Top", show=False),
        Binding("end", "scroll('scroll_end')", "End", show=False),
    ]

    def __init__(self, title: str, markdown: str) -> None:
        super().__init__()
        self._title = title
        self._markdown = without_heading(markdown)

    def compose(self) -> ComposeResult:
        """Show the step's help in a scrolling box with a close button."""
        with Vertical(id="dialog", classes="help"):
            yield Label(f"Help: {self._title}", id="dialog-title", markup=False)
            with VerticalScroll(id="help-body", can_focus=False):
                yield Markdown(self._markdown)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", compact=True, variant="primary")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)

    def action_scroll(self, how: str) -> None:
        """Scroll the help by one of its body's scroll methods, such as scroll_page_down."""
        getattr(self.query_one("#help-body", VerticalScroll), how)()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class QuitDialog(ModalScreen[QuitChoice | None]):
    """Ask before quitting with unsaved work: save the draft, quit anyway, or stay."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stay", "Stay", tooltip="Go back to the wizard")
    ]

    def __init__(self, draft_path: str) -> None:
        super().__init__()
        self._draft_path = draft_path

    def compose(self) -> ComposeResult:
        """Say what would be lost, with the three ways out."""
        with Vertical(id="dialog"):
            yield Label("Quit the wizard?", id="dialog-title")
            yield Static(
                f"Your answers are not saved. Save them to {self._draft_path} to resume later?",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save and quit", id="save", variant="primary", compact=True)
                yield Button("Quit without saving", id="discard", variant="error", compact=True)
                yield Button("Stay", id="stay", compact=True)

    def action_stay(self) -> None:
        """Stay in the wizard."""
        self.dismiss(None)

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.dismiss("save")
        elif event.button.id == "discard":
            self.dismiss("discard")
        else:
            self.dismiss(None)


class ReplaceDialog(ModalScreen[Path | None]):
    """Ask before a draft replaces a file this run did not write: replace it, or save beside it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Go back without saving")
    ]

    def __init__(self, path: Path, beside: Path) -> None:
        super().__init__()
        self._path = path
        self._beside = beside

    def compose(self) -> ComposeResult:
        """Name the file that is there, and the three ways on."""
        with Vertical(id="dialog"):
            yield Label(f"Replace {self._path.name}?", id="dialog-title", markup=False)
            yield Static(
                f"{self._path.absolute()} is there already, and this run of the wizard did not "
                f"write it. Replace it with this draft, or save the draft as "
                f"{self._beside.absolute()}?",
                id="replace-what",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"Save as {self._beside.name}", id="beside", variant="primary", compact=True
                )
                yield Button("Replace", id="replace", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Start on saving beside it, so an Enter pressed by habit replaces nothing."""
        self.query_one("#beside", Button).focus()

    def action_cancel(self) -> None:
        """Go back without saving."""
        self.dismiss(None)

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        targets = {"beside": self._beside, "replace": self._path}
        self.dismiss(targets.get(event.button.id or ""))


class HostKeyDialog(ModalScreen[bool]):
    """Show an unknown host key by its SHA256 fingerprint; accept only on the person's word."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "refuse", "Refuse", tooltip="Refuse the key and disconnect")
    ]

    def __init__(self, key: HostKey) -> None:
        super().__init__()
        self._key = key

    def compose(self) -> ComposeResult:
        """Show the host, the key type and fingerprint, and how to check it."""
        key = self._key
        with Vertical(id="dialog"):
            yield Label("Unknown host key", id="dialog-title")
            yield Static(
                f"{key.host} is not known yet. It offered this {key.key_type} key:",
                markup=False,
            )
            yield Static(key.fingerprint, id="fingerprint", markup=False)
            yield Static(
                "Accept it only if it matches what the machine itself shows, for example "
                "from `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on it or from "
                "the provider's console. A key that changes later is refused.",
                classes="why",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Refuse", id="refuse", variant="error", compact=True)
                yield Button("Accept", id="accept", variant="primary", compact=True)

    def on_mount(self) -> None:
        """Start on Refuse, so an Enter pressed by habit does not accept a key."""
        self.query_one("#refuse", Button).focus()

    def action_refuse(self) -> None:
        """Refuse the key."""
        self.dismiss(False)

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "accept")


class ApplyDialog(ModalScreen[bool]):
    """Ask before apply.sh runs for real on another machine, saying what it will change there."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Go back without changing the machine")
    ]

    def __init__(self, host: str, folder: str) -> None:
        super().__init__()
        self._host = host
        self._folder = folder

    def compose(self) -> ComposeResult:
        """Say what applying changes on the machine, with the way back to a dry run."""
        with Vertical(id="dialog"):
            yield Label(f"Apply the bundle on {self._host}?", id="dialog-title", markup=False)
            yield Static(
                f"This uploads {self._folder} to {self._host} and runs apply.sh there for real: "
                "it installs packages, creates system users, writes the configuration, opens "
                "the firewall's ports and starts the services. Running it again later is safe. "
                "Cancel and choose the dry run to see every action first.",
                id="apply-what",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(
                    f"Apply on {self._host}", id="confirm", variant="warning", compact=True
                )

    def on_mount(self) -> None:
        """Start on Cancel, so an Enter pressed by habit changes nothing."""
        self.query_one("#cancel", Button).focus()

    def action_cancel(self) -> None:
        """Go back without applying."""
        self.dismiss(False)

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")


class SecretDialog(ModalScreen[str | None]):
    """Ask for a password or a key's passphrase; what is typed is hidden and never kept."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Log in without it")
    ]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self._prompt = prompt

    def compose(self) -> ComposeResult:
        """Show what is asked for, a hidden entry, and the buttons."""
        with Vertical(id="dialog"):
            yield Label("Log in", id="dialog-title")
            yield Static(self._prompt.rstrip(": "), markup=False)
            yield Input(password=True, id="secret", compact=True)
            yield Static(
                "It is used for this login only: not saved, not shown, not written anywhere.",
                classes="why",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Log in", id="give", variant="primary", compact=True)

    def action_cancel(self) -> None:
        """Go on without the secret."""
        self.dismiss(None)

    @on(Input.Submitted, "#secret")
    @on(Button.Pressed, "#give")
    def _give(self) -> None:
        entry = self.query_one("#secret", Input)
        secret = entry.value
        entry.value = ""
        self.dismiss(secret or None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
