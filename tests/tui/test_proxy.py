"""The Proxy step: the fields of the chosen certificate source, laid out to be read and typed."""

import pytest
from textual.widgets import Input

from screens.proxy import ProxyStep
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    asynctest,
    field_problem,
    plan_state,
    refused,
    settle,
    walk_to,
    wizard,
)

pytestmark = pytest.mark.tui


@asynctest
async def test_certificate_files_get_the_width_of_the_step_and_their_problem_in_full() -> None:
    async with wizard(plan_state()).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        proxy = await walk_to(pilot, ProxyStep)
        proxy.query_one("#tls", Choices).choose("files")
        await settle(pilot)
        for entry in ("#cert-path", "#key-path"):
            assert proxy.query_one(entry, Input).size.width >= 40, entry
        assert field_problem(proxy, "proxy.cert_path") is None  # not filled in yet
        assert await refused(pilot)
        problem = field_problem(proxy, "proxy.cert_path")
        assert problem is not None
        assert problem.startswith("tls: files needs both cert_path and key_path")
