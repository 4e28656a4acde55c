"""The wizard's steps in order, each imported only when first needed so the wizard starts fast."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from screens.state import WizardState, resumed_machine_is_known

if TYPE_CHECKING:
    from screens.step import StepPane


def _always_applies(state: WizardState) -> bool:
    return False


@dataclass(frozen=True)
class Step:
    """One step: the module and class that show it, its answers sections, and when it is skipped.

    ``skip`` is the same rule as the class's ``should_skip``, kept here so that counting the
    steps does not import every step's module.
    """

    module: str
    name: str
    sections: tuple[str, ...] = ()
    skip: Callable[[WizardState], bool] = _always_applies

    def pane_class(self) -> "type[StepPane]":
        """Return the step's pane class, importing its module on first use."""
        pane: type[StepPane] = getattr(importlib.import_module(self.module), self.name)
        return pane


STEPS: tuple[Step, ...] = (
    Step("screens.welcome", "WelcomeStep"),
    Step("screens.machine", "MachineStep", ("machine",), resumed_machine_is_known),
    Step("screens.tier", "TierStep", ("homeserver",), resumed_machine_is_known),
    Step("screens.deployment", "DeploymentStep", ("deployment",)),
    Step("screens.domain", "DomainStep", ("domain",)),
    Step("screens.database", "DatabaseStep", ("database",)),
    Step("screens.proxy", "ProxyStep", ("proxy",)),
    Step(
        "screens.extras",
        "ExtrasStep",
        (
            "media",
            "calls",
            "registration",
            "encryption",
            "rate_limits",
            "backups",
            "firewall",
            "monitoring",
        ),
    ),
    Step("screens.review", "ReviewStep"),
    Step("screens.write", "WriteStep"),
    Step("screens.done", "DoneStep"),
)


def sections_before(index: int) -> tuple[str, ...]:
    """Return the answers sections that the steps before index fill in."""
    return tuple(name for step in STEPS[:index] for name in step.sections)
