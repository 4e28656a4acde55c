"""Each step refuses a bad value: Next stays disabled, and the reason is shown beside the field."""

from pathlib import Path

import pytest
from textual.widgets import Checkbox, Static

from screens.database import DatabaseStep
from screens.domain import DomainStep
from screens.extras import ExtrasStep
from screens.machine import MachineStep
from screens.proxy import ProxyStep
from screens.tier import TierStep
from screens.welcome import WelcomeStep
from screens.widgets.choices import Choices
from screens.widgets.field import Field
from screens.write import WriteStep
from tests.tui.conftest import (
    answers_file_says,
    asynctest,
    field_problem,
    refused,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)
from wizard.errors import UsageError
from wizard.fit.tiers import hardware_for
from wizard.units import parse_cores, parse_size

pytestmark = pytest.mark.tui

BASE = {"homeserver": {"kind": "synapse"}, "domain": {"server_name": "example.com"}}


@asynctest
async def test_welcome_refuses_a_draft_that_is_not_there(tmp_path: Path) -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        welcome = step(pilot.app)
        assert isinstance(welcome, WelcomeStep)
        welcome.query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(tmp_path / "missing.yaml"))
        assert await refused(pilot)
        problem = field_problem(welcome, "draft")
        assert problem is not None
        assert problem.startswith(f"cannot read {tmp_path / 'missing.yaml'}")


@asynctest
async def test_machine_refuses_sizes_and_cores_it_cannot_read() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await walk_to(pilot, MachineStep)
        machine.query_one("#source", Choices).choose("hand")
        await pilot.pause()
        await type_into(pilot, "#cores", "0")
        await type_into(pilot, "#ram", "4X")
        await type_into(pilot, "#disk", "60G")
        assert await refused(pilot)
        with pytest.raises(UsageError) as said:
            parse_size("4X")
        assert field_problem(machine, "plan.ram") == str(said.value)
        with pytest.raises(UsageError) as said:
            parse_cores("0")
        assert field_problem(machine, "plan.cores") == str(said.value)
        await type_into(pilot, "#cores", "2")
        await type_into(pilot, "#ram", "4G")
        assert machine.valid
        assert field_problem(machine, "plan.ram") is None


@asynctest
async def test_tier_refuses_a_tier_the_overview_does_not_define() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        tier.query_one("#kind", Choices).choose("conduit")
        await pilot.pause()
        tier.query_one("#tier", Choices).choose("production")
        await pilot.pause()
        assert await refused(pilot)
        with pytest.raises(UsageError) as said:
            hardware_for("conduit", "production")
        assert field_problem(tier, "homeserver.tier") == str(said.value)


@pytest.mark.parametrize(
    ("selector", "value", "path"),
    [
        ("#server-name", "example", "domain.server_name"),
        ("#server-name", "example.com:99999", "domain.server_name"),
        ("#homeserver-host", "matrix_host.example.com", "domain.homeserver_host"),
        ("#element-host", "-element.example.com", "domain.element_host"),
    ],
)
@asynctest
async def test_domain_refuses_names_in_the_answers_files_words(
    selector: str, value: str, path: str
) -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "example.com")
        await type_into(pilot, selector, value)
        assert await refused(pilot)
        entered = domain.form()["domain"]
        expected = answers_file_says({"homeserver": {"kind": "synapse"}, "domain": entered})
        assert field_problem(domain, path) == expected[path]


@asynctest
async def test_domain_previews_the_user_id_and_follows_the_host() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "Example.ORG")
        assert str(domain.query_one("#preview", Static).content).endswith("@you:example.org")
        assert domain.form()["domain"]["homeserver_host"] == "matrix.example.org"
        assert domain.valid


@asynctest
async def test_domain_says_to_drop_the_scheme_of_a_url() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "https://example.org")
        assert await refused(pilot)
        assert field_problem(domain, "domain.server_name") == (
            "'https://example.org' is a URL: drop the scheme and write 'example.org'"
        )
        assert domain.form()["domain"]["homeserver_host"] == ""


@asynctest
async def test_domain_warns_of_a_look_alike_name_beside_it() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "ex\u0430mple.org")
        assert domain.valid
        field = next(field for field in domain.query(Field) if field.path == "domain.server_name")
        assert str(field.query_one(".detail", Static).content) == (
            "'ex\u0430mple' mixes Latin letters with Cyrillic '\u0430' (U+0430), as look-alike "
            "names do: check that this is the name you mean\n"
            "'ex\u0430mple.org' is written in its ASCII form 'xn--exmple-4nf.org'"
        )


@asynctest
async def test_domain_offers_a_matrix_server_name_as_its_own_host() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "matrix.example.org")
        assert domain.form()["domain"]["homeserver_host"] == "matrix.example.org"
        assert domain.valid


@asynctest
async def test_database_refuses_sqlite_for_synapse_in_production_until_accepted() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        tier.query_one("#tier", Choices).choose("production")
        await pilot.pause()
        database = await walk_to(pilot, DatabaseStep)
        assert database.query_one("#kind", Choices).values == ("postgresql", "sqlite")
        database.query_one("#kind", Choices).choose("sqlite")
        await pilot.pause()
        assert database.query_one("#accept-sqlite").display
        assert await refused(pilot)
        data = {**BASE, "homeserver": {"kind": "synapse", "tier": "production"}}
        expected = answers_file_says({**data, "database": {"kind": "sqlite"}})
        assert field_problem(database, "database.kind") == expected["database.kind"]
        database.query_one("#accept-sqlite", Checkbox).value = True
        await pilot.pause()
        assert database.valid
        assert "Synapse on SQLite is for trying out only" in str(
            database.query_one("#database-warnings", Static).content
        )


@asynctest
async def test_database_offers_conduit_only_what_it_supports() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        tier.query_one("#kind", Choices).choose("conduit")
        await pilot.pause()
        database = await walk_to(pilot, DatabaseStep)
        choices = database.query_one("#kind", Choices)
        assert choices.values == ("rocksdb", "sqlite")
        assert choices.selected == "rocksdb"


@pytest.mark.parametrize(
    ("tls", "selector", "value", "path"),
    [
        ("acme", "#acme-email", "not-an-address", "proxy.acme_email"),
        ("files", "#cert-path", "relative/cert.pem", "proxy.cert_path"),
        ("files", "#cert-path", "", "proxy.cert_path"),
    ],
)
@asynctest
async def test_proxy_refuses_certificate_answers_in_the_answers_files_words(
    tls: str, selector: str, value: str, path: str
) -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        proxy = await walk_to(pilot, ProxyStep)
        proxy.query_one("#tls", Choices).choose(tls)
        await pilot.pause()
        await type_into(pilot, selector, value)
        assert await refused(pilot)
        expected = answers_file_says({**BASE, "proxy": proxy.form()["proxy"]})
        assert field_problem(proxy, path) == expected[path]


@asynctest
async def test_proxy_refuses_federation_on_443_without_delegation() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "example.com")
        domain.query_one("#delegation", Choices).choose("none")
        await pilot.pause()
        proxy = await walk_to(pilot, ProxyStep)
        proxy.query_one("#federation", Choices).choose("443")
        await pilot.pause()
        assert await refused(pilot)
        assert field_problem(proxy, "proxy.federation_port") == (
            "without delegation other servers connect to port 8448; "
            "use delegation well-known or srv to federate on 443"
        )


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ("backup-path", "backups.path"),
        ("keep-days", "backups.keep_days"),
        ("grafana", "monitoring.grafana"),
        ("s3-bucket", "media.s3.bucket"),
    ],
)
@asynctest
async def test_extras_refuse_bad_values_in_the_answers_files_words(action: str, path: str) -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        if action == "backup-path":
            await type_into(pilot, "#backup-path", "backups/here")
        elif action == "keep-days":
            await type_into(pilot, "#keep-days", "0")
        elif action == "grafana":
            extras.query_one("#grafana", Checkbox).value = True
            await pilot.pause()
        else:
            extras.query_one("#media-backend", Choices).choose("s3")
            await pilot.pause()
            await type_into(pilot, "#s3-key-id", "AKIAEXAMPLE")
            await type_into(pilot, "#s3-bucket", "No_Such Bucket")
        assert await refused(pilot)
        expected = answers_file_says({**BASE, **extras.form()})
        assert field_problem(extras, path) == expected[path]


@asynctest
async def test_write_refuses_an_empty_folder_and_reports_a_folder_that_is_a_file(
    tmp_path: Path,
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        write = await walk_to(pilot, WriteStep)
        await type_into(pilot, "#out-dir", "")
        assert await refused(pilot)
        assert field_problem(write, "write.out_dir") == "give the folder to write the bundle to"
        await type_into(pilot, "#out-dir", str(in_the_way))
        await pilot.click("#write")
        await settle(pilot)
        assert await refused(pilot)
        problem = field_problem(write, "write.out_dir")
        assert problem is not None
        assert "it is a file, not a folder" in problem
        assert in_the_way.read_text() == "not a folder"
