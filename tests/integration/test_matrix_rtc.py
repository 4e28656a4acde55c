"""MatrixRTC calls through the bundle's real proxies, with a real LiveKit built from its Go module.

Proven here, for nginx, Caddy and Traefik each: LiveKit v1.13.5 starts with the bundle's
livekit.yaml and livekit.env (its API keys from the bundle's secrets) as the systemd unit runs it,
reports the answered public address as its node IP, and, through the proxy's /livekit/sfu/
route, creates a room for a token minted with the bundle's key and secret, refuses to join a room
nobody created (room.auto_create is off), and answers a join over the signalling WebSocket with
its join response. /livekit/jwt/ reaches lk-jwt-service's address with the prefix stripped, and
LiveKit posts its webhook to lk-jwt-service's /sfu_webhook there.

Not proven: lk-jwt-service itself never runs (element-hq's program is not fetched here), so a
recording stand-in listens at its address; its environment is checked against the variables the
README of the pinned release lists (tests/unit/test_bundle_matrix_rtc.py). No media flows: no
WebRTC peer runs here to exchange ICE, DTLS and RTP over the UDP and TCP ports.
"""

import asyncio
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from livekit import api
from livekit.protocol import rtc

from tests.integration import livekit_build
from tests.integration.proxy_runtime import (
    READY_TIMEOUT,
    Seen,
    free_port,
    recording_upstream,
    running,
    send,
    wait_for_port,
)
from tests.integration.test_proxy_configs import _proxy_running, _write_bundle
from tests.waiting import wait_until
from wizard.bundle import matrix_rtc, systemd
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PUBLIC_ADDRESS = "203.0.113.10"
HOST = "matrix.example.com"
USER = "@alice:example.com"
# LiveKit's signalling protocol version, as its client SDKs send it.
PROTOCOL = 15


def _livekit_program() -> str:
    """Return the LiveKit server .ci/run builds; skip (fail under CI) when it is not built."""
    if livekit_build.is_built():
        return str(livekit_build.program_path())
    message = "LiveKit is not built: run python3 -m tests.integration.livekit_build"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _write_calls_bundle(tmp_path: Path, proxy_kind: str) -> RenderContext:
    """Render the proxy, discovery and MatrixRTC files with every port free on loopback."""
    ports = {
        f"deployment__ports__{name}": free_port()
        for name in ("http", "https", "federation", "homeserver", "wellknown", "livekit", "lk_jwt")
    }
    ctx = _write_bundle(
        tmp_path,
        proxy_kind,
        "files",
        calls__matrix_rtc=True,
        calls__external_ip=PUBLIC_ADDRESS,
        calls__rtc_tcp_port=free_port(),
        calls__rtc_udp_port=free_port(),
        **ports,
    )
    for relative, file in matrix_rtc.render(ctx).items():
        target = Path(ctx.install_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
    return ctx


def _environment_file(path: Path) -> dict[str, str]:
    """Read NAME=value lines as systemd's EnvironmentFile= and compose's env_file do."""
    lines = path.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


@contextmanager
def _livekit_running(ctx: RenderContext, tmp_path: Path) -> Iterator[Path]:
    """Run LiveKit as the bundle's unit does, with its environment file; yield its log."""
    argv = systemd.livekit_argv(ctx)
    argv[0] = _livekit_program()
    environment = _environment_file(Path(ctx.install_dir) / matrix_rtc.LIVEKIT_ENV)
    log = tmp_path / "livekit.out"
    with running(argv, log, {"PATH": "/usr/bin:/bin", **environment}) as process:
        wait_for_port(ctx.ports.livekit, process, log)
        yield log


def _token(ctx: RenderContext, **grants: object) -> str:
    """Return a LiveKit token minted from the bundle's key and secret, as lk-jwt-service does."""
    token = api.AccessToken(ctx.secrets.livekit_api_key, ctx.secrets.livekit_api_secret)
    return token.with_identity(USER).with_grants(api.VideoGrants(**grants)).to_jwt()  # type: ignore[arg-type]


async def _first_signal(ctx: RenderContext, room: str) -> rtc.SignalResponse:
    """Open LiveKit's signalling WebSocket through the proxy and return its first message."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    token = _token(ctx, room_join=True, room=room)
    url = f"https://127.0.0.1:{ctx.ports.https}/livekit/sfu/rtc"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            url,
            params={"access_token": token, "protocol": str(PROTOCOL)},
            headers={"Host": HOST},
            server_hostname=HOST,
            ssl=tls,
            timeout=aiohttp.ClientWSTimeout(ws_receive=READY_TIMEOUT),
        ) as socket,
    ):
        message = await socket.receive()
        assert message.type is aiohttp.WSMsgType.BINARY, message
        return rtc.SignalResponse.FromString(message.data)


def _refused_join(ctx: RenderContext, room: str) -> int:
    """Return the HTTP status LiveKit answers a join to a room with, through the proxy."""
    try:
        asyncio.run(_first_signal(ctx, room))
    except aiohttp.WSServerHandshakeError as refused:
        return refused.status
    return 101


def _wait_for_webhook(seen: list[Seen]) -> Seen:
    """Wait until LiveKit has posted a webhook to lk-jwt-service's address, and return it."""
    posted = wait_until(
        lambda: [request for request in seen if request.path == matrix_rtc.WEBHOOK_PATH],
        "LiveKit to post a webhook to lk-jwt-service's address",
        limit=READY_TIMEOUT,
    )
    return posted[0]


@pytest.mark.parametrize("proxy_kind", ["nginx", "caddy", "traefik"])
def test_a_livekit_room_is_joined_through_the_proxy(tmp_path: Path, proxy_kind: str) -> None:
    ctx = _write_calls_bundle(tmp_path, proxy_kind)
    with (
        _livekit_running(ctx, tmp_path) as log,
        recording_upstream(ctx.ports.lk_jwt) as jwt_seen,
        _proxy_running(proxy_kind, ctx, tmp_path),
    ):
        assert f'"nodeIP": "{PUBLIC_ADDRESS}"' in log.read_text()
        health = send(ctx.ports.https, HOST, "/livekit/jwt/healthz")
        assert health.status == 200
        assert jwt_seen[-1].path == "/healthz"

        assert _refused_join(ctx, "never-created") == 404
        created = send(
            ctx.ports.https,
            HOST,
            "/livekit/sfu/twirp/livekit.RoomService/CreateRoom",
            body=b'{"name": "call"}',
            headers={
                "Authorization": f"Bearer {_token(ctx, room_create=True)}",
                "Content-Type": "application/json",
            },
        )
        assert created.status == 200, created.body
        response = asyncio.run(_first_signal(ctx, "call"))
        assert response.WhichOneof("message") == "join"
        assert response.join.room.name == "call"
        assert response.join.participant.identity == USER
        assert _wait_for_webhook(jwt_seen).body_bytes > 0
