"""Extras: the bucket and TURN fields are built when switched on, and keep what was typed."""

import pytest
from textual.widgets import Checkbox, Input

from screens.extras import ExtrasStep
from screens.widgets.choices import Choices
from tests.tui.conftest import asynctest, plan_state, settle, type_into, walk_to, wizard

pytestmark = pytest.mark.tui


@asynctest
async def test_the_bucket_fields_are_built_when_s3_is_chosen_and_keep_what_was_typed() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        assert not extras.query("#s3-bucket")
        extras.query_one("#media-backend", Choices).choose("s3")
        # Read at once, before the fields are built, the answers hold what they will show.
        assert extras.form()["media"]["s3"]["endpoint"] == "https://s3.amazonaws.com"
        await pilot.pause()
        assert extras.query_one("#s3-endpoint", Input).value == "https://s3.amazonaws.com"
        await type_into(pilot, "#s3-bucket", "matrix-media")
        extras.query_one("#media-backend", Choices).choose("local")
        await pilot.pause()
        assert extras.form()["media"]["s3"] is None
        extras.query_one("#media-backend", Choices).choose("s3")
        await pilot.pause()
        assert extras.query_one("#s3").display
        assert extras.form()["media"]["s3"]["bucket"] == "matrix-media"


@asynctest
async def test_the_turn_host_is_built_when_turn_is_switched_on() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        assert not extras.query("#turn-host")
        extras.query_one("#turn", Checkbox).value = True
        await pilot.pause()
        await type_into(pilot, "#turn-host", "turn.example.com")
        calls = extras.form()["calls"]
        assert (calls["turn"], calls["turn_host"]) == (True, "turn.example.com")
        assert extras.valid


@asynctest
async def test_each_switch_says_its_state_in_words_and_marks_it_only_when_on() -> None:
    async with wizard(plan_state()).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        turn = extras.query_one("#turn", Checkbox)
        firewall = extras.query_one("#firewall", Checkbox)
        assert (str(turn.label), turn.BUTTON_INNER) == ("off", " ")
        assert (str(firewall.label), firewall.BUTTON_INNER) == ("on", "X")
        turn.value = True
        firewall.value = False
        await pilot.pause()
        assert (str(turn.label), turn.BUTTON_INNER) == ("on", "X")
        assert (str(firewall.label), firewall.BUTTON_INNER) == ("off", " ")


@asynctest
async def test_group_calls_ask_for_the_public_address_and_take_it_into_the_answers() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        assert not extras.query("#external-ip")
        extras.query_one("#matrix-rtc", Checkbox).value = True
        await pilot.pause()
        assert extras.query_one("#rtc-udp-port", Input).value == "7882"
        assert not extras.valid  # LiveKit needs the address clients send media to
        await type_into(pilot, "#external-ip", "203.0.113.10")
        calls = extras.form()["calls"]
        assert (calls["matrix_rtc"], calls["external_ip"]) == (True, "203.0.113.10")
        assert extras.valid


@asynctest
async def test_the_authentication_service_switch_sets_auth_mas() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        mas = extras.query_one("#mas", Checkbox)
        assert not mas.value, "off unless chosen"
        mas.value = True
        await pilot.pause()
        assert extras.form()["auth"]["mas"] is True
        assert extras.valid, "Synapse on PostgreSQL, the wizard's default, can run it"
