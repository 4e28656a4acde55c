"""WizardScreen: the title, the step on show, the navigation row and the keys, around every step."""

from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Static

from screens.messages import BackRequested, NextRequested, ScreenReady
from screens.widgets.keybar import KeyBar

if TYPE_CHECKING:
    from screens.step import StepPane

MIN_WIDTH, MIN_HEIGHT = 80, 24


class WizardScreen(Screen[None]):
    """The one screen of the wizard: it holds the steps' panes and shows one at a time.

    Panes not on show are kept hidden, so going back to one, or on to one built ahead of
    time while the person read the step before, shows it without building it.
    """

    AUTO_FOCUS = None
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next", id="next", tooltip="Go on to the next step"),
        Binding("enter", "next", "Next", show=False, id="next-enter"),
        Binding("escape", "back", "Back", id="back", tooltip="Go back a step; entries are kept"),
        Binding(
            "pagedown",
            "scroll_step(1)",
            "Scroll",
            key_display="PgUp/PgDn",
            id="scroll-down",
            tooltip="Scroll the step; the focus stays where it is",
        ),
        Binding("pageup", "scroll_step(-1)", "Scroll up", show=False, id="scroll-up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.step: StepPane | None = None
        self._focused: dict[StepPane, Widget] = {}
        self._to_focus: StepPane | None = None

    def compose(self) -> ComposeResult:
        """Lay out the title bar, the place for the steps, the navigation row and the keys."""
        yield Static("matrix-wizard", id="title-bar", markup=False)
        too_small = Static("", id="too-small", markup=False)
        too_small.display = False
        yield too_small
        yield Container(id="steps")
        with Horizontal(id="nav"):
            yield Button("Back", id="back", compact=True, disabled=True)
            yield Static("", id="nav-status", markup=False)
            yield Button("Next", id="next", variant="primary", compact=True, disabled=True)
        yield KeyBar()

    def on_mount(self) -> None:
        """Say that the steps can be shown."""
        self.post_message(ScreenReady())

    def on_resize(self, event: events.Resize) -> None:
        """Say so while the terminal is smaller than the wizard is laid out for."""
        width, height = event.size
        notice = self.query_one("#too-small", Static)
        notice.display = width < MIN_WIDTH or height < MIN_HEIGHT
        notice.update(
            f"This terminal is {width}x{height}; the wizard is made for {MIN_WIDTH}x{MIN_HEIGHT} "
            "or larger, and lines are cut until the window grows."
        )

    def add(self, step: "StepPane") -> None:
        """Build a step's pane out of sight, to be shown later."""
        step.display = False
        self.query_one("#steps").mount(step)

    def show(self, step: "StepPane") -> None:
        """Show a step's pane in place of the one on show, with the focus it was left with."""
        before = self.step
        if before is not None and before is not step:
            if self.focused is not None and before in self.focused.ancestors_with_self:
                self._focused[before] = self.focused
            before.display = False
        if not step.is_attached:
            self.add(step)
        self.step = step
        step.display = True
        self.sub_title = f"Step {step.position} of {step.count}: {step.STEP_NAME}"
        self.query_one("#title-bar", Static).update(step.heading())
        next_button = self.query_one("#next", Button)
        next_button.label = step.NEXT_LABEL
        # A button ignores presses while it shows the last one; that press was the last step's.
        next_button.remove_class("-active")
        self.query_one("#back", Button).disabled = step.position == 1
        self._to_focus = step
        self.checked(step)

    def _focus_in(self, step: "StepPane") -> None:
        """Focus what had the focus when the step was left, else the control it starts on.

        Focusing a control rather than the pane keeps the change quick: a widget taking or
        losing the focus restyles everything inside it. The pane is not scrolled to the focus: a
        step first shown starts at its top, and one shown again keeps where it was scrolled,
        whereas scrolling to a control whose size is still being worked out lands elsewhere.
        """
        focus = self._focused.pop(step, None)
        if focus is None or not focus.is_attached:
            focus = self._first_focus(step)
        self.set_focus(focus, scroll_visible=False)

    def _first_focus(self, step: "StepPane") -> Widget | None:
        """Return the control the step starts on: the one it names, its first, or an open Next."""
        if step.FIRST_FOCUS:
            return step.query_one(step.FIRST_FOCUS)
        inside = [widget for widget in self.focus_chain if step in widget.ancestors]
        if inside:
            return inside[0]
        next_button = self.query_one("#next", Button)
        return None if next_button.disabled else next_button

    def focus_next_button(self, step: "StepPane") -> None:
        """Put the focus on Next once the step on show may go on, so Enter goes on."""
        self.checked(step)
        next_button = self.query_one("#next", Button)
        if step is self.step and not next_button.disabled:
            self.set_focus(next_button)

    def forget(self, step: "StepPane") -> None:
        """Let go of a step's pane."""
        self._focused.pop(step, None)
        if step.is_attached:
            step.remove()

    def checked(self, step: "StepPane") -> None:
        """Show whether the step on show may go on, and why not, in the navigation row."""
        if step is not self.step:
            return
        self.query_one("#next", Button).disabled = not step.valid
        if self._to_focus is step and step.is_mounted:
            self._to_focus = None
            self._focus_in(step)
        status = self.query_one("#nav-status", Static)
        if str(status.content) != step.status:
            status.update(step.status)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out Next until the step is valid, and Back on the first step."""
        step = self.step
        if action == "next":
            return True if step is not None and step.valid else None
        if action == "back":
            return True if step is not None and step.position > 1 else None
        return True

    def on_key(self, event: events.Key) -> None:
        """Ask to go on when Next's key is pressed while greyed out, so the step says why not."""
        pressed = self.active_bindings.get(event.key)
        if pressed is not None and pressed.binding.action == "next" and not pressed.enabled:
            self.post_message(NextRequested())

    def action_next(self) -> None:
        """Ask the app to go on."""
        self.post_message(NextRequested())

    def action_back(self) -> None:
        """Ask the app to go back."""
        self.post_message(BackRequested())

    def action_scroll_step(self, pages: int) -> None:
        """Scroll the step on show by a page down (1) or up (-1), leaving the focus where it is."""
        if self.step is None:
            return
        if pages > 0:
            self.step.scroll_page_down()
        else:
            self.step.scroll_page_up()

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.post_message(NextRequested())

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.post_message(BackRequested())
