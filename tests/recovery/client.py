"""matrix-nio through the proxy: leave a room's history and a file, and read them back later."""

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from nio import (
    AsyncClient,
    JoinResponse,
    LoginResponse,
    MemoryDownloadResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    UploadResponse,
)

from tests.e2e.client import LoopbackResolver

HISTORY_LIMIT = 100


@dataclass(frozen=True)
class History:
    """What two users left on the server: their room, its messages in order, and a file."""

    room_id: str
    bodies: list[str]
    file_uri: str
    file_bytes: bytes


@asynccontextmanager
async def logged_in(base_url: str, user: str, password: str) -> AsyncIterator[AsyncClient]:
    """Yield a client logged in through the proxy, every name resolved to loopback."""
    client = AsyncClient(base_url, user, ssl=False)
    connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), ssl=False)
    client.client_session = aiohttp.ClientSession(connector=connector)
    try:
        login = await client.login(password)
        assert isinstance(login, LoginResponse), f"login of {user}: {login}"
        yield client
    finally:
        await client.close()


async def _send(client: AsyncClient, room_id: str, content: dict[str, object]) -> None:
    sent = await client.room_send(room_id, "m.room.message", content)
    assert isinstance(sent, RoomSendResponse), f"send: {sent}"


async def _leave_history(
    base_url: str, users: tuple[str, str], password: str, file_bytes: bytes
) -> History:
    alice, bob = users
    async with logged_in(base_url, alice, password) as first:
        room = await first.room_create(name="kept", invite=[bob])
        assert isinstance(room, RoomCreateResponse), f"create room: {room}"
        async with logged_in(base_url, bob, password) as second:
            joined = await second.join(room.room_id)
            assert isinstance(joined, JoinResponse), f"join: {joined}"
            await _send(first, room.room_id, {"msgtype": "m.text", "body": "first, from alice"})
            await _send(second, room.room_id, {"msgtype": "m.text", "body": "second, from bob"})
        uploaded, _ = await first.upload(
            io.BytesIO(file_bytes), "application/octet-stream", "kept.bin", filesize=len(file_bytes)
        )
        assert isinstance(uploaded, UploadResponse), f"upload: {uploaded}"
        file_event = {"msgtype": "m.file", "body": "kept.bin", "url": uploaded.content_uri}
        await _send(first, room.room_id, file_event)
        bodies = await _read_bodies(first, room.room_id)
    return History(room.room_id, bodies, uploaded.content_uri, file_bytes)


async def _read_bodies(client: AsyncClient, room_id: str) -> list[str]:
    """Return the text bodies of the room's messages, oldest first, read from its history."""
    page = await client.room_messages(room_id, limit=HISTORY_LIMIT)
    assert isinstance(page, RoomMessagesResponse), f"messages: {page}"
    return [event.body for event in reversed(page.chunk) if isinstance(event, RoomMessageText)]


async def _read_back(
    base_url: str, user: str, password: str, room_id: str, file_uri: str
) -> tuple[list[str], bytes]:
    async with logged_in(base_url, user, password) as client:
        bodies = await _read_bodies(client, room_id)
        download = await client.download(mxc=file_uri)
        assert isinstance(download, MemoryDownloadResponse), f"download: {download}"
        return bodies, download.body


def leave_history(
    base_url: str, users: tuple[str, str], password: str, file_bytes: bytes
) -> History:
    """Two users talk in a new room and the first uploads a file and posts it there."""
    return asyncio.run(_leave_history(base_url, users, password, file_bytes))


def read_back(
    base_url: str, user: str, password: str, room_id: str, file_uri: str
) -> tuple[list[str], bytes]:
    """Log in, read the room's text messages from its history, and download the file."""
    return asyncio.run(_read_back(base_url, user, password, room_id, file_uri))
