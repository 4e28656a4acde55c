"""What the machine lacks for the chosen homeserver and tier, on the Tier and Review steps."""

import pytest
from textual.widgets import Select, Static

from screens.review import ReviewStep
from screens.tier import TierStep
from screens.widgets.choices import Choices
from tests.tui.conftest import asynctest, go_on, settle, step, walk_to, wizard

pytestmark = pytest.mark.tui


@asynctest
async def test_review_warns_what_the_machine_lacks_in_the_words_tier_used() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("plan")
        await pilot.pause()
        machine = await go_on(pilot)
        machine.query_one("#profile", Select).value = "vps-512m"
        await pilot.pause()
        tier = await go_on(pilot)
        assert isinstance(tier, TierStep)
        tier.query_one("#kind", Choices).choose("synapse")
        tier.query_one("#tier", Choices).choose("minimum")
        await pilot.pause()
        lacking = "this machine lacks for Synapse's minimum tier: RAM 1 GiB (found 512 MiB)"
        assert str(tier.query_one("#tier-warning", Static).content) == f"Warning: {lacking}"
        review = await walk_to(pilot, ReviewStep)
        warnings = review.query_one("#warnings", Static)
        assert warnings.display
        assert f"Warning: {lacking}" in str(warnings.content).splitlines()
