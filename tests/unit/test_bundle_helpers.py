"""The shared helpers: shell quoting and templates, certificate names and files, folder owners."""

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import certificates, layout, shell
from wizard.errors import WizardError


@pytest.mark.parametrize("value", ["two words", "a;b", "$(id)", "back`tick", "new\nline", ""])
def test_a_value_that_is_not_one_plain_word_is_refused(value: str) -> None:
    with pytest.raises(WizardError):
        shell.word(value)


def test_a_table_is_one_quoted_word_with_a_row_a_line() -> None:
    assert shell.table([("/a", "750", "991:991"), ("/b", "755", "-")]) == (
        "'/a 750 991:991\n/b 755 -'"
    )


def test_a_template_placeholder_without_a_value_is_reported() -> None:
    with pytest.raises(WizardError, match=r"backup\.sh"):
        shell.fragment("backup.sh", {})


def test_certificate_files_are_mounted_unprefixed_for_the_proxy() -> None:
    ctx = context_for(answers_for(deployment__prefix="/tmp/stage"))
    host = certificates.host_certificate_files(ctx)
    seen = certificates.proxy_certificate_files(ctx)
    assert host is not None and seen is not None
    assert host.chain == "/tmp/stage/etc/letsencrypt/live/matrix.example.com/fullchain.pem"
    assert seen.chain == "/etc/letsencrypt/live/matrix.example.com/fullchain.pem"
    assert certificates.host_certificate_files(context_for(answers_for(proxy="caddy"))) is None


@pytest.mark.parametrize(("kind", "owner"), [("compose", "991:991"), ("native", "matrix-synapse")])
def test_synapse_state_belongs_to_the_user_that_runs_it(kind: str, owner: str) -> None:
    ctx = context_for(answers_for("synapse", deployment__kind=kind))
    folders = {folder.path: folder for folder in layout.folders(ctx, turn_tls=False)}
    assert folders["/var/lib/matrix-wizard/synapse"].owner == owner
    assert folders["/var/lib/matrix-wizard/synapse"].mode == 0o750
