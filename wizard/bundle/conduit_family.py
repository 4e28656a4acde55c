"""Conduit and its successors continuwuity and tuwunel: what differs between the three, as data.

All three are one binary with a built-in RocksDB store, read a TOML file whose settings sit
under [global], and answer the Matrix APIs under /_matrix/. The table holds only what differs
(homeserver-facts.md section 3 and each project's example config).
"""

from dataclasses import dataclass

from wizard.answers.model import Homeserver
from wizard.bundle import versions
from wizard.units import MIB


@dataclass(frozen=True)
class Member:
    """One homeserver of the Conduit family; the defaults are what the two successors share."""

    name: str
    release: str
    image: str
    program: str  # its binary in /usr/local/bin without containers
    downloads: str  # the page of its pinned release, with the binaries to download
    env_prefix: str  # the prefix of the environment variables it reads
    routes: tuple[str, ...]  # its own public routes beside /_matrix/
    default_request_size: int  # its built-in max_request_size
    # What it does when sign-up is on with no token (None: it lets anyone sign up).
    tokenless_registration: str | None
    # The setting and value that take the client's address from the rightmost X-Forwarded-For,
    # which the bundle's proxies set; Conduit has none and sees the proxy's address.
    client_address: tuple[str, str] | None
    binary_note: str = ""  # what its release binary needs besides, said after where to get it
    default_port: int = 8008  # where it listens when the config names no port
    federates_by_default: bool = True  # its built-in allow_federation
    backend_key: bool = False  # whether database_backend names the store (Conduit's has two)
    address_list: bool = True  # whether address may be a list of addresses
    media_table: bool = False  # whether [global.media] places media (else in database_path)
    # They refuse to start with a max_request_size under 10 MB (facts 3.2, 3.3).
    min_request_size: int = 10_000_000
    request_size_limit: int | None = None  # the largest max_request_size it holds, if bounded
    request_size_text: bool = False  # whether max_request_size may be text such as "24 MiB"


MEMBERS = {
    Homeserver.CONDUIT: Member(
        name="Conduit",
        release=versions.CONDUIT_VERSION,
        image=versions.CONDUIT_IMAGE,
        program="matrix-conduit",
        downloads="https://gitlab.com/famedly/conduit/-/releases",
        env_prefix="CONDUIT_",
        routes=(),
        default_request_size=20 * MIB,
        tokenless_registration=None,
        client_address=None,
        default_port=8000,
        federates_by_default=False,
        backend_key=True,
        address_list=False,
        media_table=True,
        min_request_size=1,
        request_size_limit=2**32 - 1,  # a u32 in Conduit's config
    ),
    Homeserver.CONTINUWUITY: Member(
        name="Continuwuity",
        release=versions.CONTINUWUITY_VERSION,
        image=versions.CONTINUWUITY_IMAGE,
        program="continuwuity",
        downloads="https://forgejo.ellis.link/continuwuation/continuwuity/releases/tag/"
        f"v{versions.CONTINUWUITY_VERSION}",
        env_prefix="CONTINUWUITY_",
        routes=("/_continuwuity/",),
        default_request_size=20 * MIB,
        tokenless_registration="it refuses every sign-up",
        client_address=("request_ip_source", "x_forwarded_for"),
        binary_note="; its deployment guide says the release binaries need jemalloc and "
        "io_uring (liburing) on the host",
    ),
    Homeserver.TUWUNEL: Member(
        name="Tuwunel",
        release=versions.TUWUNEL_VERSION,
        image=versions.TUWUNEL_IMAGE,
        program="tuwunel",
        downloads="https://github.com/matrix-construct/tuwunel/releases/tag/"
        f"v{versions.TUWUNEL_VERSION}",
        env_prefix="TUWUNEL_",
        routes=("/_tuwunel/",),
        default_request_size=24 * MIB,
        tokenless_registration="it refuses to start",
        client_address=("ip_source", "rightmost_x_forwarded_for"),
        request_size_text=True,
    ),
}
