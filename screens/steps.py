"""The wizard's steps in order, each imported only when first needed so the wizard starts fast."""

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from screens.step import StepPane


@dataclass(frozen=True)
class Step:
    """One step: the module and class that show it, and the answers sections it fills in."""

    module: str
    name: str
    sections: tuple[str, ...] = ()

    def pane_class(self) -> "type[StepPane]":
        """Return the step's pane class, importing its module on first use."""
        pane: type[StepPane] = getattr(importlib.import_module(self.module), self.name)
        return pane


STEPS: tuple[Step, ...] = (
    Step("screens.welcome", "WelcomeStep"),
    Step("screens.machine", "MachineStep", ("machine",)),
    Step("screens.tier", "TierStep", ("homeserver",)),
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
            "auth",
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
