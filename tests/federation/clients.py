"""Two matrix-nio users on two homeservers: an invite, a join over federation, two messages."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from nio import (
    AsyncClient,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from tests.e2e.client import LoopbackResolver

# Federation's first contact (keys, the join's handshake) takes longer than a local request.
FEDERATION_LIMIT = 180.0
SYNC_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class Account:
    """A user on one homeserver: its public URL (a port of this machine) and credentials."""

    base_url: str
    user_id: str
    password: str


@dataclass(frozen=True)
class Exchange:
    """What each side read in the shared room, and how long the first federated message took."""

    room_id: str
    read_by_inviter: list[str]
    read_by_invitee: list[str]
    first_message_seconds: float


async def _logged_in(account: Account) -> AsyncClient:
    client = AsyncClient(account.base_url, account.user_id, ssl=False)
    connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), ssl=False)
    client.client_session = aiohttp.ClientSession(connector=connector)
    login = await client.login(account.password)
    assert isinstance(login, LoginResponse), f"login of {account.user_id}: {login}"
    return client


async def _sync_until(
    client: AsyncClient, holds: Callable[[SyncResponse], bool], what: str
) -> None:
    """Sync (long-polling) until a sync response shows what is awaited."""
    deadline = time.monotonic() + FEDERATION_LIMIT
    while time.monotonic() < deadline:
        response = await client.sync(timeout=SYNC_TIMEOUT_MS)
        assert isinstance(response, SyncResponse), f"sync: {response}"
        if holds(response):
            return
    raise AssertionError(f"still waiting after {FEDERATION_LIMIT:.0f} s for {what}")


async def _send(client: AsyncClient, room_id: str, body: str) -> None:
    sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
    assert isinstance(sent, RoomSendResponse), f"send: {sent}"


async def _exchange(
    inviter: Account, invitee: Account, messages: tuple[str, str], room_version: str | None
) -> Exchange:
    first, second = await _logged_in(inviter), await _logged_in(invitee)
    read: dict[str, list[str]] = {inviter.user_id: [], invitee.user_id: []}

    def keep(user_id: str) -> Callable[[object, RoomMessageText], None]:
        def record(room: object, event: RoomMessageText) -> None:
            read[user_id].append(event.body)

        return record

    first.add_event_callback(keep(inviter.user_id), RoomMessageText)
    second.add_event_callback(keep(invitee.user_id), RoomMessageText)
    try:
        room = await first.room_create(
            name="federation", invite=[invitee.user_id], room_version=room_version
        )
        assert isinstance(room, RoomCreateResponse), f"create room: {room}"
        started = time.monotonic()
        await _sync_until(
            second,
            lambda sync: room.room_id in sync.rooms.invite,
            f"the invite of {invitee.user_id} to reach its server",
        )
        joined = await second.join(room.room_id)
        assert isinstance(joined, JoinResponse), f"join over federation: {joined}"
        await _send(first, room.room_id, messages[0])
        await _sync_until(
            second,
            lambda sync: messages[0] in read[invitee.user_id],
            f"{inviter.user_id}'s message to reach {invitee.user_id}",
        )
        seconds = time.monotonic() - started
        await _send(second, room.room_id, messages[1])
        await _sync_until(
            first,
            lambda sync: messages[1] in read[inviter.user_id],
            f"{invitee.user_id}'s message to reach {inviter.user_id}",
        )
        return Exchange(
            room.room_id, read[inviter.user_id], read[invitee.user_id], round(seconds, 3)
        )
    finally:
        await first.close()
        await second.close()


def exchange(
    inviter: Account,
    invitee: Account,
    messages: tuple[str, str],
    room_version: str | None = None,
) -> Exchange:
    """Make a room as the inviter and invite; join as the invitee; each sends, reads the other.

    The room is of the inviter's server's default version unless one is given.
    """
    return asyncio.run(_exchange(inviter, invitee, messages, room_version))
