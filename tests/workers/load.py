"""matrix-nio users that register with a token, talk in a room and share a file, timed.

The workers tests use it to send traffic of every kind through the proxy; the benchmark
(bench/workers.py) uses the same rounds to compare a single process with the worker layout.
"""

import asyncio
import io
import time
from dataclasses import dataclass, field

import aiohttp
from nio import (
    AsyncClient,
    DownloadResponse,
    JoinResponse,
    LoginResponse,
    RegisterResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)

from tests.e2e.client import LoopbackResolver

PASSWORD = "correct horse battery staple"
# How long one sync waits on the server for new events, in milliseconds.
SYNC_TIMEOUT_MS = 2000
FILE_BODY = b"a file shared through the media worker\n" * 64


@dataclass
class Latencies:
    """Seconds each request took, by what it was, and how many failed."""

    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, what: str, started: float) -> None:
        """Record one request of a kind that started at a monotonic time."""
        self.seconds.setdefault(what, []).append(time.monotonic() - started)

    def merged(self, other: "Latencies") -> "Latencies":
        """Return both sets of figures together."""
        merged = Latencies({what: list(values) for what, values in self.seconds.items()})
        for what, values in other.seconds.items():
            merged.seconds.setdefault(what, []).extend(values)
        return merged


def _client(base_url: str, user: str) -> AsyncClient:
    client = AsyncClient(base_url, user, ssl=False)
    connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), ssl=False)
    client.client_session = aiohttp.ClientSession(connector=connector)
    return client


async def register(base_url: str, name: str, token: str) -> AsyncClient:
    """Register a user with a registration token through the proxy; return the logged-in client."""
    client = _client(base_url, name)
    response = await client.register_with_token(name, PASSWORD, token)
    assert isinstance(response, RegisterResponse), f"register {name}: {response}"
    return client


async def login(base_url: str, user_id: str, password: str) -> AsyncClient:
    """Log a user in through the proxy; return the client."""
    client = _client(base_url, user_id)
    response = await client.login(password)
    assert isinstance(response, LoginResponse), f"login of {user_id}: {response}"
    return client


async def federation_version(base_url: str) -> dict[str, dict[str, str]]:
    """Ask the federation API for the server's name and version, as another server would."""
    connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), ssl=False)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"{base_url}/_matrix/federation/v1/version") as response,
    ):
        assert response.status == 200, await response.text()
        found: dict[str, dict[str, str]] = await response.json()
        return found


async def exercise(
    base_url: str, clients: list[AsyncClient], rounds: int
) -> tuple[bytes, dict[str, dict[str, str]]]:
    """Share a room and talk in it, share a file, and ask the federation API; close the clients.

    Returns the file as the second user downloaded it, and the federation API's answer.
    """
    try:
        room_id = await share_room(clients[0], clients[1:])
        await converse(clients, room_id, rounds)
        downloaded = await share_file(clients[0], clients[1], Latencies())
        return downloaded, await federation_version(base_url)
    finally:
        for client in clients:
            await client.close()


async def _sync(client: AsyncClient, latencies: Latencies) -> SyncResponse:
    started = time.monotonic()
    response = await client.sync(timeout=SYNC_TIMEOUT_MS)
    assert isinstance(response, SyncResponse), f"sync: {response}"
    latencies.add("sync", started)
    return response


async def share_room(owner: AsyncClient, guests: list[AsyncClient]) -> str:
    """Make a room as the owner, invite the guests and have them join; return its ID."""
    invited = [guest.user_id for guest in guests]
    room = await owner.room_create(name="workers", invite=invited)
    assert isinstance(room, RoomCreateResponse), f"create room: {room}"
    for guest in guests:
        joined = await guest.join(room.room_id)
        assert isinstance(joined, JoinResponse), f"join: {joined}"
    return str(room.room_id)


async def one_round(client: AsyncClient, room_id: str, text: str, latencies: Latencies) -> None:
    """Send a message, sync, and read the room's latest messages back, timing each."""
    started = time.monotonic()
    sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text})
    assert isinstance(sent, RoomSendResponse), f"send: {sent}"
    latencies.add("send", started)
    await _sync(client, latencies)
    started = time.monotonic()
    read = await client.room_messages(room_id, start="", limit=10)
    assert isinstance(read, RoomMessagesResponse), f"messages: {read}"
    latencies.add("messages", started)


async def share_file(sender: AsyncClient, reader: AsyncClient, latencies: Latencies) -> bytes:
    """Upload a file as one user and download it as another; return what was downloaded."""
    started = time.monotonic()
    uploaded, _ = await sender.upload(
        io.BytesIO(FILE_BODY),
        content_type="text/plain",
        filename="note.txt",
        filesize=len(FILE_BODY),
    )
    assert isinstance(uploaded, UploadResponse), f"upload: {uploaded}"
    latencies.add("upload", started)
    started = time.monotonic()
    downloaded = await reader.download(uploaded.content_uri)
    assert isinstance(downloaded, DownloadResponse), f"download: {downloaded}"
    latencies.add("download", started)
    return bytes(downloaded.body)


async def converse(clients: list[AsyncClient], room_id: str, rounds: int) -> Latencies:
    """Have every client run its rounds at once in the shared room; return the latencies."""
    each = [Latencies() for _ in clients]
    await asyncio.gather(
        *(
            _rounds(client, room_id, rounds, figures)
            for client, figures in zip(clients, each, strict=True)
        )
    )
    total = Latencies()
    for figures in each:
        total = total.merged(figures)
    return total


async def _rounds(client: AsyncClient, room_id: str, rounds: int, latencies: Latencies) -> None:
    await _sync(client, latencies)
    for number in range(rounds):
        await one_round(client, room_id, f"{client.user_id} says {number}", latencies)
