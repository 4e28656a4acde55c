"""A staging prefix and other ports change nothing in the bundle but the paths and the ports."""

import re
from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for
from wizard.bundle.model import Bundle
from wizard.bundle.render import render

PREFIX = "/srv/matrix-staging"
# Two sets of ports, none of them a default, so no file writes one differently (443 is left out
# of URLs, for one); each number is unusual enough to stand only for itself in any file.
PORTS_A = {
    "http": 30080,
    "https": 30443,
    "federation": 38448,
    "homeserver": 38008,
    "metrics": 39000,
    "postgres": 35432,
    "turn": 33478,
    "turns": 35349,
    "prometheus": 39090,
    "grafana": 33000,
    "wellknown": 38090,
    "caddy_admin": 32019,
    "synapse_workers": 31100,
    "livekit": 37880,
    "lk_jwt": 36080,
    "mas": 38085,
}
PORTS_B = {name: port + 10000 for name, port in PORTS_A.items()}
# Ports from which Synapse's workers count theirs.
COUNTED_FROM = ("metrics", "synapse_workers")
CERTIFICATE = {
    "proxy__tls": "files",
    "proxy__cert_path": "/etc/ssl/matrix/fullchain.pem",
    "proxy__key_path": "/etc/ssl/matrix/privkey.pem",
}
EVERYTHING = {"calls__turn": True, "monitoring__prometheus": True, "monitoring__grafana": True}
STACKS: list[dict[str, Any]] = [
    {
        "homeserver": "synapse",
        "database": "postgresql",
        "proxy": "nginx",
        "homeserver__workers": True,
        "calls__matrix_rtc": True,
        "calls__external_ip": "203.0.113.10",
        **EVERYTHING,
    },
    {"homeserver": "synapse", "database": "sqlite", "proxy": "caddy", **CERTIFICATE},
    {
        "homeserver": "synapse",
        "database": "postgresql",
        "proxy": "traefik",
        "auth__mas": True,
        **CERTIFICATE,
    },
    {"homeserver": "dendrite", "database": "postgresql", "proxy": "traefik", **EVERYTHING},
    {"homeserver": "conduit", "database": "rocksdb", "proxy": "nginx", **CERTIFICATE},
    {"homeserver": "tuwunel", "proxy": "caddy", **EVERYTHING},
    {"homeserver": "synapse", "database": "postgresql", "proxy": "nginx", "backups__path": "/b"},
]
STACK_IDS = [
    "synapse-nginx",
    "synapse-caddy",
    "synapse-traefik",
    "dendrite",
    "conduit",
    "tuwunel",
    "backup",
]


def _bundle(kind: str, prefix: str, ports: dict[str, int], sets: dict[str, Any]) -> Bundle:
    answers = answers_for(
        deployment__kind=kind, deployment__prefix=prefix, deployment__ports=ports, **sets
    )
    return render(answers, None, FIXED_SECRETS)


def _as_unstaged(text: str) -> str:
    """Return a prefixed bundle file with the prefix taken out and the other ports put back.

    apply.sh also names the prefix itself: under one it leaves the host's firewall, packages,
    users and services alone, and only prints those actions.
    """
    text = text.replace(f"\nPREFIX={PREFIX}\n", "\nPREFIX=''\n").replace(PREFIX, "")
    for name, port in PORTS_B.items():
        text = re.sub(rf"\b{port}\b", str(PORTS_A[name]), text)
    for name in COUNTED_FROM:  # each worker's port is one of these plus its number
        for number in range(1, 20):
            text = re.sub(rf"\b{PORTS_B[name] + number}\b", str(PORTS_A[name] + number), text)
    return text


@pytest.mark.parametrize("kind", ["native", "compose"])
@pytest.mark.parametrize("sets", STACKS, ids=STACK_IDS)
def test_the_prefix_and_the_ports_are_the_only_differences(kind: str, sets: dict[str, Any]) -> None:
    real = _bundle(kind, "", PORTS_A, sets)
    staged = _bundle(kind, PREFIX, PORTS_B, sets)
    assert staged.keys() == real.keys()
    for path, file in staged.items():
        assert file.mode == real[path].mode, path
        if path == "answers.yaml":
            continue
        assert _as_unstaged(file.text) == real[path].text, path
    staged_answers = yaml.safe_load(staged["answers.yaml"].text)
    real_answers = yaml.safe_load(real["answers.yaml"].text)
    assert staged_answers["deployment"].pop("prefix") == PREFIX
    assert staged_answers["deployment"].pop("ports") == PORTS_B
    assert real_answers["deployment"].pop("prefix") == ""
    assert real_answers["deployment"].pop("ports") == PORTS_A
    assert staged_answers == real_answers


def test_the_prefix_appears_in_the_staged_bundle_so_the_comparison_means_something() -> None:
    staged = _bundle("native", PREFIX, PORTS_B, STACKS[0])
    for path in ("synapse/homeserver.yaml", "nginx/matrix.conf", "systemd/matrix-synapse.service"):
        assert PREFIX in staged[path].text, path
    assert str(PORTS_B["homeserver"]) in staged["nginx/matrix.conf"].text


# A token that starts with a slash after a space, quote, =, (, `, :, comma or the line start.
_ABSOLUTE = re.compile(r"""(?:^|(?<=[\s"'=(`:,<>]))(/[A-Za-z0-9._@+%-][^\s"'`;,)<>{}|]*)""", re.M)
# What may start with a slash without being a host path the bundle puts or reads there.
_NOT_HOST_PATHS = (
    re.compile(r"^/_"),  # Matrix and Synapse URL paths: /_matrix/, /_synapse/client/
    re.compile(r"^/\.well-known"),  # URL paths of the well-known documents and ACME
    re.compile(r"^/livekit/(jwt|sfu)/$"),  # URL paths of MatrixRTC calls
    re.compile(r"^/metrics$"),  # Dendrite's metrics URL path
    re.compile(r"^/\d+$"),  # the length of a network prefix, as in fc00::/7
    re.compile(r"\$"),  # a shell variable, whose value the script holds prefixed
    # Programs the distribution's packages install: a staging prefix does not move them.
    re.compile(r"^/usr/s?bin/[a-z0-9]+$"),
    re.compile(r"^/usr/bin:/bin$"),  # the PATH build-dendrite.sh gives the go command
    re.compile(r"^/bin/kill$"),
    re.compile(r"^/dev/null$"),
    # firewall.sh's nftables files: apply.sh runs it only as a dry run under a prefix.
    re.compile(r"^/etc/nftables\.(conf|d|d/matrix-wizard\.nft)$"),
)


@pytest.mark.parametrize("sets", STACKS, ids=STACK_IDS)
def test_every_host_path_of_a_native_bundle_lives_under_the_prefix(sets: dict[str, Any]) -> None:
    bundle = _bundle("native", PREFIX, PORTS_B, sets)
    outside: dict[str, str] = {}
    for path, file in bundle.items():
        if path in ("answers.yaml", "secrets.yaml"):  # they record the answers as given
            continue
        if path == "mas/signing.key":  # a PEM key, whose base64 lines may start with /
            continue
        for match in _ABSOLUTE.finditer(file.text):
            token = match.group(1)
            if token.startswith(PREFIX) or any(rule.search(token) for rule in _NOT_HOST_PATHS):
                continue
            outside.setdefault(token, path)
    assert outside == {}


def test_the_scan_finds_a_path_outside_the_prefix() -> None:
    text = "pid_file: /var/run/synapse.pid\nExecStart=/srv/matrix-staging/bin/x --log=/var/log/x\n"
    found = [m.group(1) for m in _ABSOLUTE.finditer(text) if not m.group(1).startswith(PREFIX)]
    assert found == ["/var/run/synapse.pid", "/var/log/x"]
