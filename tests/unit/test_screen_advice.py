"""Advice written for the command line, as the screens put it: what to do there instead."""

import re
from pathlib import Path

import pytest

from screens.advice import facts_on_screen, on_screen
from wizard.errors import UsageError
from wizard.probe.blockdev import MEASURE_HINT
from wizard.probe.local import locate_data_path


@pytest.mark.parametrize(
    ("command_line", "screen"),
    [
        (
            "no answer from vps port 22 within 10 s: check the address and that a firewall "
            "lets SSH through; raise --connect-timeout for a slow link",
            "no answer from vps port 22 within 10 s: check the address and that a firewall "
            "lets SSH through; on a slow link, press Connect again",
        ),
        (
            "vps port 22 refused the connection: no SSH server listens there: check the port "
            "(--port) and that sshd runs on the server",
            "vps port 22 refused the connection: no SSH server listens there: check the Port "
            "and that sshd runs on the server",
        ),
        (
            "vps port 22 did not finish the SSH key exchange within 30 s: raise "
            "--banner-timeout for a slow link",
            "vps port 22 did not finish the SSH key exchange within 30 s: on a slow link, "
            "press Connect again",
        ),
        (
            "the host key of vps is not known: it is ssh-ed25519 SHA256:abc; nothing was sent "
            "to it: check that fingerprint on the server (ssh-keygen -lf "
            "/etc/ssh/ssh_host_*.pub), then run again with --accept-host-key SHA256:abc",
            "the host key of vps is not known: it is ssh-ed25519 SHA256:abc; nothing was sent "
            "to it: check that fingerprint on the server (ssh-keygen -lf "
            "/etc/ssh/ssh_host_*.pub), then press Connect again and accept the key SHA256:abc",
        ),
        (
            "cannot log in to root@vps: every way was refused: check the user name, add your "
            "public key to the server's ~/.ssh/authorized_keys, or give the key with --identity",
            "cannot log in to root@vps: every way was refused: check the user name, add your "
            "public key to the server's ~/.ssh/authorized_keys, or give the key in Key file",
        ),
        (
            "cannot upload to root@vps:~/b: the server's disk is full (nothing was changed "
            "there): free some space there, or choose another --remote-dir",
            "cannot upload to root@vps:~/b: the server's disk is full (nothing was changed "
            "there): free some space there, or write the bundle to a folder of another name (it "
            "is uploaded to the folder of that name in the home folder there)",
        ),
        (
            "cannot upload to root@vps:~/b: permission denied beside ~/b (nothing was changed "
            "there): choose a --remote-dir that admin may write to (such as ~/matrix-bundle), "
            "or log in as a user who may write there",
            "cannot upload to root@vps:~/b: permission denied beside ~/b (nothing was changed "
            "there): connect as a user who may write to the home folder there",
        ),
        (
            "cannot upload to root@vps:~/b: swap failed: busy (nothing was changed there): put "
            "right the cause above, then run the same command again",
            "cannot upload to root@vps:~/b: swap failed: busy (nothing was changed there): put "
            "right the cause above, then try again",
        ),
    ],
)
def test_command_line_advice_is_put_as_what_to_do_on_screen(command_line: str, screen: str) -> None:
    assert on_screen(command_line) == screen
    assert not re.search(r"--[a-z]", on_screen(command_line))


def test_the_probes_data_path_advice_drops_its_flag(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        locate_data_path(str(a_file))
    assert str(raised.value).endswith(", with --data-path")
    assert on_screen(str(raised.value)) == (
        f"data path {a_file} is a file, not a folder: give a folder that exists"
    )


def test_a_message_with_no_command_line_advice_is_left_as_it_is() -> None:
    said = "cannot find the host vps: check the spelling, the DNS, or give an IP address"
    assert on_screen(said) == said


def test_the_disk_kind_says_how_to_measure_it_from_where_the_facts_came() -> None:
    fact = f"10 GiB free; kind unknown (virtual disk vda reports rotational=1: {MEASURE_HINT})"
    assert facts_on_screen(fact, "local").endswith(
        "(virtual disk vda reports rotational=1: unknown unless measured with Measure disk)"
    )
    assert facts_on_screen(fact, "ssh").endswith(
        "rotational=1: unknown unless measured by running the wizard on that machine)"
    )
    assert "--" not in facts_on_screen(fact, "profile")
