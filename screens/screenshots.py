"""Export the README's screenshots from the wizard itself, headless, into assets/screenshots.

Run from the repository root: `python -m screens.screenshots`. A machine profile stands in
for probing, so the pictures do not depend on the machine they are made on.
"""

import asyncio
from pathlib import Path

from textual.widgets import Input, TabbedContent

from screens.app import WizardApp
from screens.domain import DomainStep
from screens.review import ReviewStep
from screens.step import StepPane
from screens.tier import TierStep
from wizard.probe.profile import load_profile

HERE = Path(__file__).resolve().parent.parent / "assets" / "screenshots"
SIZE = (110, 34)


async def export() -> None:
    """Walk one run and save the Tier, Domain and Review steps."""
    app = WizardApp(probe=lambda path: load_profile("vps-4g"), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:

        async def settle() -> StepPane:
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown = app.current_step()
            assert shown is not None
            return shown

        async def go_to(target: type[StepPane]) -> StepPane:
            screen = await settle()
            while not isinstance(screen, target):
                app.next_step()
                screen = await settle()
            return screen

        await go_to(TierStep)
        app.save_screenshot("tier.svg", str(HERE))
        domain = await go_to(DomainStep)
        domain.query_one("#server-name", Input).value = "example.org"
        await settle()
        app.save_screenshot("domain.svg", str(HERE))
        review = await go_to(ReviewStep)
        assert isinstance(review, ReviewStep)
        review.query_one("#review-tabs", TabbedContent).active = "files-tab"
        await settle()
        review.show_file("synapse/homeserver.yaml")
        await settle()
        app.save_screenshot("review.svg", str(HERE))


if __name__ == "__main__":
    asyncio.run(export())
