"""Check a Conduit-family TOML config without the program: its known keys and start-up rules.

The rules are the ones homeserver-facts.md section 3 records for Conduit, continuwuity and
tuwunel; what differs between the three comes from the family's table in the bundle.
"""

import ipaddress
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

from wizard.answers.model import Homeserver
from wizard.bundle.conduit_family import MEMBERS, Member
from wizard.verify.known_keys import check_known_keys, load_config, value_at


def check_conduit_file(path: Path, homeserver: Homeserver = Homeserver.CONDUIT) -> list[str]:
    """Return every problem a homeserver of the family would have with its TOML config."""
    data, problems = load_config(path, _toml_settings)
    if problems:
        return problems
    return check_known_keys(homeserver.value, data) + conduit_rules(data, homeserver)


def _toml_settings(text: str) -> dict[str, Any]:
    """Return TOML text parsed, or raise ValueError saying what is wrong with it."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"is not valid TOML: {error}") from None


def conduit_rules(
    data: Mapping[str, Any], homeserver: Homeserver = Homeserver.CONDUIT
) -> list[str]:
    """Return the start-up rules a config of the family breaks (facts sections 3.1 to 3.3)."""
    member = MEMBERS[homeserver]
    name = member.name
    settings = data.get("global")
    if not isinstance(settings, Mapping):
        return [f"there is no [global] table: {name} reads every setting from [global]"]
    problems: list[str] = []
    if not isinstance(settings.get("server_name"), str) or not settings["server_name"]:
        problems.append(f"global.server_name is missing: {name} needs the server's name")
    if member.backend_key and settings.get("database_backend") not in ("rocksdb", "sqlite"):
        problems.append('global.database_backend must be "rocksdb" or "sqlite"')
    if not isinstance(settings.get("database_path"), str) or not settings["database_path"]:
        problems.append(f"global.database_path is missing: {name} needs a folder for its data")
    problems += _listen_problems(settings, member)
    problems += _request_size_problems(settings.get("max_request_size"), member)
    if not member.federates_by_default and "allow_federation" not in settings:
        problems.append(
            f"global.allow_federation is missing: {name}'s built-in default is false, "
            "so the server would not federate; set it to true (or false on purpose)"
        )
    problems += _registration_problems(settings, member)
    client = value_at(settings, "well_known.client")
    if client is not None and not str(client).startswith(("http://", "https://")):
        problems.append("global.well_known.client must be a URL starting with https://")
    problems += _turn_problems(settings, name)
    if member.media_table:
        problems += _media_problems(settings)
    return problems


def _whole_number(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _listen_problems(settings: Mapping[str, Any], member: Member) -> list[str]:
    """Return what is wrong with where the homeserver listens: its port and address."""
    problems: list[str] = []
    port = settings.get("port")
    # The successors take a list of ports, as of addresses; Conduit takes one of each.
    ports = port if isinstance(port, list) and member.address_list else [port]
    if port is None:
        problems.append(
            f"global.port is missing: {member.name} would listen on its built-in "
            f"{member.default_port}; give the port the proxy forwards to"
        )
    elif not ports or not all(_whole_number(each) and 1 <= each <= 65535 for each in ports):
        problems.append("global.port must be a whole number from 1 to 65535")
    address = settings.get("address")
    if address is None:
        return problems
    if isinstance(address, list) and not member.address_list:
        return [*problems, f"global.address must be one address: {member.name} takes no list"]
    for each in address if isinstance(address, list) else [address]:
        try:
            ipaddress.ip_address(str(each))
        except ValueError:
            problems.append("global.address must be an IP address such as 127.0.0.1")
            break
    return problems


def _request_size_problems(size: object, member: Member) -> list[str]:
    """Return what is wrong with max_request_size, which the program checks at start."""
    if size is None or (isinstance(size, str) and member.request_size_text):
        return []
    limit = member.request_size_limit
    if not _whole_number(size):
        return ["global.max_request_size must be a number of bytes"]
    if limit is not None and not 0 < size <= limit:
        return ["global.max_request_size must be a number of bytes below 4 GiB"]
    if size < member.min_request_size:
        return [
            f"global.max_request_size is {size}: {member.name} refuses to start below "
            f"{member.min_request_size} bytes"
        ]
    return []


def _registration_problems(settings: Mapping[str, Any], member: Member) -> list[str]:
    """Return what is wrong with sign-up: an empty token, or sign-up on with no token at all."""
    problems: list[str] = []
    if settings.get("registration_token") == "":
        problems.append("global.registration_token is empty; remove it or give a token")
    tokenless = not (
        settings.get("registration_token")
        or settings.get("registration_token_file")
        or settings.get("yes_i_am_very_very_sure_i_want_an_open_registration_server_prone_to_abuse")
    )
    if member.tokenless_registration and settings.get("allow_registration") is True and tokenless:
        problems.append(
            f"global.allow_registration is true without registration_token: "
            f"{member.tokenless_registration}; give a registration_token or set "
            "allow_registration = false"
        )
    return problems


def _turn_problems(settings: Mapping[str, Any], name: str) -> list[str]:
    problems: list[str] = []
    if settings.get("turn_uris") and not (
        settings.get("turn_secret")
        or settings.get("turn_secret_file")
        or (settings.get("turn_username") and settings.get("turn_password"))
    ):
        problems.append(
            "global.turn_uris is set without turn_secret (or turn_username and "
            f"turn_password): {name} then offers no TURN server at all"
        )
    turn = settings.get("turn")
    if isinstance(turn, Mapping) and not (
        turn.get("uris") and (turn.get("secret") or (turn.get("username") and turn.get("password")))
    ):
        problems.append("[global.turn] needs uris and a secret (or username and password)")
    return problems


def _media_problems(settings: Mapping[str, Any]) -> list[str]:
    media = settings.get("media")
    if not isinstance(media, Mapping):
        return []
    backend = media.get("backend", "filesystem")
    if backend == "filesystem":
        return []
    if backend != "s3":
        return ['global.media.backend must be "filesystem" or "s3"']
    missing = [
        name for name in ("endpoint", "bucket", "region", "key", "secret") if not media.get(name)
    ]
    if missing:
        return ["global.media with backend s3 needs " + ", ".join(missing)]
    return []
