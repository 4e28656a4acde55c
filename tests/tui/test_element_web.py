"""Element Web from the wizard: asked on Domain, said on Review and Done, written to the bundle."""

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from screens.deployment import DeploymentStep
from screens.domain import DomainStep
from screens.done import DoneStep
from screens.proxy import ProxyStep
from screens.review import ReviewStep
from screens.widgets.choices import Choices
from screens.write import WriteStep
from tests.tui.conftest import (
    asynctest,
    go_on,
    screen_text,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)

pytestmark = pytest.mark.tui


@asynctest
async def test_an_element_host_is_served_said_on_review_and_done(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "example.org")
        await type_into(pilot, "#element-host", "example.org")
        domain = step(app)
        assert not domain.valid  # Element Web may not share the server_name's host
        await pilot.press("ctrl+n")  # refused: the problem shows beside the field
        await settle(pilot)
        assert step(app) is domain
        assert "must not share" in screen_text(app)
        await type_into(pilot, "#element-host", "chat.example.org")
        while not isinstance(step(app), ReviewStep):
            await go_on(pilot)
        review = step(app)
        assert review.valid
        table = review.query_one("#answers", DataTable)
        value = table.get_cell("domain.element_host", "value")
        assert str(value) == "Element Web served at https://chat.example.org"
        write = await go_on(pilot)
        assert isinstance(write, WriteStep)
        await type_into(pilot, "#out-dir", str(out))
        await pilot.click("#write")
        await settle(pilot)
        done = await go_on(pilot)
        assert isinstance(done, DoneStep)
        said = str(done.query_one("#element-web", Static).content)
        assert said == "Element Web opens at https://chat.example.org once it is applied."
    config = json.loads((out / "element-web" / "config.json").read_text())
    assert config["default_server_config"]["m.homeserver"]["server_name"] == "example.org"


@asynctest
async def test_native_traefik_with_an_element_host_is_refused_on_the_proxy_step() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, DeploymentStep)
        step(app).query_one("#kind", Choices).choose("native")
        await pilot.pause()
        await go_on(pilot)
        assert isinstance(step(app), DomainStep)
        await type_into(pilot, "#server-name", "example.org")
        await type_into(pilot, "#element-host", "chat.example.org")
        while not isinstance(step(app), ProxyStep):
            await go_on(pilot)
        proxy = step(app)
        proxy.query_one("#kind", Choices).choose("traefik")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert step(app) is proxy
        assert not proxy.valid
        assert "Traefik cannot serve Element Web" in screen_text(app)
        proxy.query_one("#kind", Choices).choose("caddy")
        await pilot.pause()
        assert proxy.valid
