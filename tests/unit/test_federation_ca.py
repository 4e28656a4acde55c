"""A private federation's CA: Synapse trusts it for outbound federation, wherever it runs."""

import pytest

from tests.bundle_support import answers_for, context_for
from tests.tui.conftest import answers_file_says
from wizard.bundle import compose, synapse, systemd

CA = "/etc/ssl/private-federation/ca.pem"


def test_no_private_ca_leaves_the_system_trust_alone() -> None:
    config = synapse.homeserver_config(context_for(answers_for()))
    assert "federation_custom_ca_list" not in config


def test_natively_synapse_reads_the_ca_on_the_host_under_any_prefix() -> None:
    answers = answers_for(
        deployment__kind="native", deployment__prefix="/srv/stage", proxy__federation_ca_path=CA
    )
    ctx = context_for(answers)
    assert synapse.homeserver_config(ctx)["federation_custom_ca_list"] == [f"/srv/stage{CA}"]
    assert systemd.service_files(ctx)["matrix-synapse"][-1] == f"/srv/stage{CA}"


def test_under_compose_the_ca_is_mounted_read_only_where_synapse_reads_it() -> None:
    ctx = context_for(answers_for(deployment__kind="compose", proxy__federation_ca_path=CA))
    assert synapse.homeserver_config(ctx)["federation_custom_ca_list"] == [CA]
    assert f"{CA}:{CA}:ro" in compose.services(ctx)["synapse"]["volumes"]


@pytest.mark.parametrize("homeserver", ["dendrite", "conduit"])
def test_other_homeservers_refuse_a_private_ca_and_say_what_to_do(homeserver: str) -> None:
    data: dict[str, object] = {
        "homeserver": {"kind": homeserver},
        "domain": {"server_name": "example.com"},
        "proxy": {"federation_ca_path": CA},
    }
    said = answers_file_says(data)
    assert said["proxy.federation_ca_path"].startswith(f"{homeserver} has no setting")
    assert "trust store" in said["proxy.federation_ca_path"]


def test_a_relative_ca_path_is_refused() -> None:
    data: dict[str, object] = {
        "homeserver": {"kind": "synapse"},
        "domain": {"server_name": "example.com"},
        "proxy": {"federation_ca_path": "ca.pem"},
    }
    assert "proxy.federation_ca_path" in answers_file_says(data)
