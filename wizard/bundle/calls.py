"""TURN for calls: coturn's turnserver.conf, the URIs the homeserver hands out, REST credentials."""

import base64
import hashlib
import hmac
import ipaddress

from wizard.bundle import certificates, layout
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, Bundle, File
from wizard.errors import WizardError

TURN_CONFIG = "coturn/turnserver.conf"
CONTAINER_CONFIG = "/etc/coturn/turnserver.conf"
CONTAINER_CERT_DIR = "/etc/coturn/certs"
TURN_CHAIN = "fullchain.pem"
TURN_KEY = "privkey.pem"

# Peers a relay must never reach: private, loopback, link-local, reserved and
# translation ranges (Synapse's coturn guide). Multicast is refused by no-multicast-peers.
DENIED_PEER_NETWORKS = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "::1/128",
    "64:ff9b::/96",
    "::ffff:0:0/96",
    "100::/64",
    "2001::/23",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
)
USER_QUOTA = 12
TOTAL_QUOTA = 1200


def turn_host(ctx: RenderContext) -> str:
    """Return the host name clients reach TURN at."""
    return ctx.answers.calls.turn_host or ctx.server_name_host


def turn_tls(ctx: RenderContext) -> bool:
    """Return whether TURN also serves TLS: only when a certificate exists on the host."""
    return ctx.answers.calls.turn and certificates.host_certificate_files(ctx) is not None


def turn_uris(ctx: RenderContext) -> list[str]:
    """Return the TURN URIs the homeserver gives clients, or none without TURN."""
    if not ctx.answers.calls.turn:
        return []
    host = turn_host(ctx)
    turn_port = ctx.ports.turn
    uris = [
        f"turn:{host}:{turn_port}?transport=udp",
        f"turn:{host}:{turn_port}?transport=tcp",
    ]
    if turn_tls(ctx):
        uris.append(f"turns:{host}:{ctx.ports.turns}?transport=tcp")
    return uris


def turn_credentials(secret: str, user_id: str, expires_at: int) -> tuple[str, str]:
    """Return the TURN REST username and password for a user, as the homeserver makes them."""
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def _peer_range(network: str) -> str:
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        return str(net.network_address)
    return f"{net.network_address}-{net.broadcast_address}"


def _certificate_dir(ctx: RenderContext) -> str:
    return CONTAINER_CERT_DIR if ctx.compose else layout.turn_certificate_dir(ctx)


def _config_value(value: str) -> str:
    if not value or any(char.isspace() or char == "#" for char in value):
        raise WizardError(
            "the TURN shared secret is empty or holds spaces or '#'",
            "remove turn_shared_secret from secrets.yaml to make a new one",
        )
    return value


def _own_address(ctx: RenderContext) -> list[str]:
    """Return the lines for the server's own address: NAT mapping, and relaying to itself.

    Two users of this server both relaying through it make coturn relay to its own address,
    which the denied ranges refuse when that address is private; Synapse's TURN guide
    (docs/setup/turn/coturn.md) allows the server's listening address for this. No-tcp-relay
    still keeps the server's TCP services out of reach.
    """
    calls = ctx.answers.calls
    if calls.external_ip is None:
        return []
    if calls.internal_ip is None:
        return [f"allowed-peer-ip={calls.external_ip}"]
    return [
        f"external-ip={calls.external_ip}/{calls.internal_ip}",
        f"allowed-peer-ip={calls.internal_ip}",
    ]


def turnserver_conf(ctx: RenderContext) -> str:
    """Return coturn's configuration: shared-secret auth, private peers refused, quotas."""
    calls = ctx.answers.calls
    lines = [
        "# coturn for Matrix calls, written by matrix-wizard; holds the TURN secret: keep private.",
        f"listening-port={ctx.ports.turn}",
    ]
    if turn_tls(ctx):
        cert_dir = _certificate_dir(ctx)
        lines += [
            f"tls-listening-port={ctx.ports.turns}",
            f"cert={cert_dir}/{TURN_CHAIN}",
            f"pkey={cert_dir}/{TURN_KEY}",
            "no-tlsv1",
            "no-tlsv1_1",
        ]
    else:
        lines += [
            "# No certificate on this host for TURN over TLS: plain TURN only.",
            "no-tls",
            "no-dtls",
        ]
    lines += [
        f"min-port={calls.relay_min_port}",
        f"max-port={calls.relay_max_port}",
        "use-auth-secret",
        f"static-auth-secret={_config_value(ctx.secrets.turn_shared_secret)}",
        f"realm={turn_host(ctx)}",
        "fingerprint",
        # RFC 5780 would also listen on each port plus one, ports the answers never chose.
        "no-rfc5780",
        "no-cli",
        "no-multicast-peers",
        "no-tcp-relay",
        *(f"denied-peer-ip={_peer_range(network)}" for network in DENIED_PEER_NETWORKS),
        *_own_address(ctx),
        f"user-quota={USER_QUOTA}",
        f"total-quota={TOTAL_QUOTA}",
        "stale-nonce=600",
        "log-file=stdout",
        "simple-log",
    ]
    return "\n".join(lines) + "\n"


def render(ctx: RenderContext) -> Bundle:
    """Return coturn's configuration when TURN is chosen."""
    if not ctx.answers.calls.turn:
        return {}
    return {TURN_CONFIG: File(turnserver_conf(ctx), PRIVATE)}
