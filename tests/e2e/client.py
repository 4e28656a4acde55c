"""A real Matrix client (matrix-nio) talking to the homeserver through the proxy over TLS."""

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from nio import (
    AsyncClient,
    Event,
    LoginResponse,
    RoomCreateResponse,
    RoomEncryptionEvent,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from tests.waiting import LIMIT

# How long one sync waits on the server for new events, in milliseconds.
LONG_POLL_MS = 10000


class LoopbackResolver(AbstractResolver):
    """Resolve every name to 127.0.0.1, so TLS SNI and Host keep the public host names."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Conversation:
    """What the client saw: the room, the messages read back, encryption, and TURN credentials."""

    room_id: str
    bodies: list[str]
    encrypted: bool
    turn: dict[str, Any]


async def _sync_until(client: AsyncClient, room_id: str, message: str) -> list[Event]:
    """Sync the room's state and timeline, long-polling for more until the message is there.

    Dendrite's sync API learns of a sent event a moment later (over its internal queue), so
    the first sync may come before it; a client then waits for the next batch, as this does.
    """
    events: list[Event] = []
    deadline = time.monotonic() + LIMIT
    full_state = True
    while time.monotonic() < deadline:
        sync = await client.sync(timeout=LONG_POLL_MS, full_state=full_state)
        assert isinstance(sync, SyncResponse), f"sync: {sync}"
        full_state = False
        joined = sync.rooms.join.get(room_id)
        if joined:
            events += [*joined.state, *joined.timeline.events]
        if any(isinstance(event, RoomMessageText) and event.body == message for event in events):
            break
    return events


async def _converse(base_url: str, user: str, password: str, message: str) -> Conversation:
    client = AsyncClient(base_url, user, ssl=False)
    connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), ssl=False)
    client.client_session = aiohttp.ClientSession(connector=connector)
    try:
        login = await client.login(password)
        assert isinstance(login, LoginResponse), f"login: {login}"
        room = await client.room_create(name="end-to-end")
        assert isinstance(room, RoomCreateResponse), f"create room: {room}"
        content = {"msgtype": "m.text", "body": message}
        sent = await client.room_send(room.room_id, "m.room.message", content)
        assert isinstance(sent, RoomSendResponse), f"send: {sent}"
        events = await _sync_until(client, room.room_id, message)
        bodies = [event.body for event in events if isinstance(event, RoomMessageText)]
        encrypted = any(isinstance(event, RoomEncryptionEvent) for event in events)
        async with client.client_session.get(
            f"{base_url}/_matrix/client/v3/voip/turnServer",
            headers={"Authorization": f"Bearer {client.access_token}"},
            ssl=False,
        ) as response:
            turn = await response.json()
        return Conversation(room.room_id, bodies, encrypted, turn)
    finally:
        await client.close()


def converse(base_url: str, user: str, password: str, message: str) -> Conversation:
    """Log in, create a room, send a message, sync and read it back, and ask for TURN."""
    return asyncio.run(_converse(base_url, user, password, message))
