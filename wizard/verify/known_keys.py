"""Check Dendrite's config without the program, and any program's keys against its known keys.

None of Dendrite and the Conduit family can run everywhere the wizard runs, and all of them
ignore keys they do not know, so a misspelt setting would pass unnoticed. The known keys of
each program live in assets/known-keys/ with the upstream files they were read from; the
start-up rules here are the ones homeserver-facts.md records for Dendrite (the Conduit
family's are in conduit_rules).
"""

import base64
import binascii
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from wizard.bundle.dendrite import COMPONENT_DATABASES, OPEN_REGISTRATION_FLAG, PEM_TYPE
from wizard.errors import UsageError, WizardError
from wizard.paths import asset

PROGRAM_NAMES = {
    "dendrite": "Dendrite",
    "conduit": "Conduit",
    "continuwuity": "Continuwuity",
    "tuwunel": "Tuwunel",
}
LIST_ITEM = "[]"
ANY_NAME = "*"

_GO_DURATION = re.compile(r"^(?:(?:\d+(?:\.\d+)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$|^0$")
_KEY_ID = re.compile(r"^ed25519:[a-zA-Z0-9_]+$")
_URI_EXAMPLE = "postgres://user:password@host:5432/dbname?sslmode=disable"


@dataclass(frozen=True)
class KnownKeys:
    """The settings one program reads, as a tree of names, and the upstream files behind it."""

    program: str
    source: str
    tree: Mapping[str, Any]

    @property
    def name(self) -> str:
        """Return the program's name as people write it."""
        return PROGRAM_NAMES[self.program]


@cache
def known_keys(program: str) -> KnownKeys:
    """Return the known keys of one program (such as ``dendrite``) from assets/known-keys/."""
    if program not in PROGRAM_NAMES:
        raise UsageError(
            f"there is no list of known keys for {program!r}",
            "use one of " + ", ".join(sorted(PROGRAM_NAMES)),
        )
    path = asset(f"known-keys/{program}.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise WizardError(
            f"cannot read {path}: {error}".replace("\n", " "),
            "reinstall matrix-wizard so its data files are complete",
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("program") != program
        or not isinstance(data.get("source"), str)
        or not _is_tree(data.get("keys"))
    ):
        raise WizardError(
            f"{path} does not hold a program, its source and a tree of keys",
            "reinstall matrix-wizard so its data files are complete",
        )
    return KnownKeys(program=program, source=data["source"], tree=data["keys"])


def _is_tree(node: object) -> bool:
    if node is None:
        return True
    return isinstance(node, dict) and all(
        isinstance(key, str) and _is_tree(child) for key, child in node.items()
    )


@cache
def _all_paths(program: str) -> tuple[str, ...]:
    """Return every setting's path in the tree, lists written as name[] and wildcards as *."""
    found: list[str] = []

    def visit(node: Mapping[str, Any], prefix: str) -> None:
        for key, child in node.items():
            if key == LIST_ITEM:
                path = f"{prefix}{LIST_ITEM}"
            else:
                path = f"{prefix}.{key}" if prefix else key
                found.append(path)
            if isinstance(child, Mapping):
                visit(child, path)

    visit(known_keys(program).tree, "")
    return tuple(found)


def check_known_keys(program: str, data: Mapping[str, Any]) -> list[str]:
    """Return one message per key the program does not know, with a likely intended key."""
    keys = known_keys(program)
    problems: list[str] = []
    _check_mapping(keys, data, keys.tree, "", problems)
    return problems


def _check_mapping(
    keys: KnownKeys,
    data: Mapping[Any, Any],
    known: Mapping[str, Any],
    path: str,
    problems: list[str],
) -> None:
    for raw_key, value in data.items():
        key = str(raw_key)
        where = f"{path}.{key}" if path else key
        if key in known and key not in (LIST_ITEM, ANY_NAME):
            child = known[key]
        elif ANY_NAME in known:
            child = known[ANY_NAME]
        else:
            problems.append(_unknown_key(keys, where, key, known, path))
            continue
        if not isinstance(child, Mapping):
            continue
        if isinstance(value, Mapping):
            _check_mapping(keys, value, child, where, problems)
        elif isinstance(value, list) and isinstance(child.get(LIST_ITEM), Mapping):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    _check_mapping(keys, item, child[LIST_ITEM], f"{where}[{index}]", problems)


def _unknown_key(
    keys: KnownKeys, where: str, key: str, known: Mapping[str, Any], parent: str
) -> str:
    message = f"{where} is not a {keys.name} setting ({keys.name} ignores it)"
    siblings = [name for name in known if name not in (LIST_ITEM, ANY_NAME)]
    close = difflib.get_close_matches(key, siblings, n=1, cutoff=0.6)
    if close:
        suggestion = f"{parent}.{close[0]}" if parent else close[0]
        return f"{message}; did you mean {suggestion}?"
    elsewhere = [
        path
        for path in _all_paths(keys.program)
        if difflib.SequenceMatcher(None, key, path.rpartition(".")[2]).ratio() >= 0.85
    ]
    if elsewhere:
        return f"{message}; did you mean {sorted(elsewhere, key=len)[0]}?"
    return f"{message}; remove it or check the spelling"


def value_at(data: Mapping[str, Any], dotted: str) -> Any:
    """Return the value at a dotted path, or None when any part of it is missing."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def load_config(path: Path, parse: Callable[[str], Any]) -> tuple[Any, list[str]]:
    """Return a config file parsed, or None and why it cannot be read or parsed.

    ``parse`` raises ValueError with what is wrong, said after the file's path.
    """
    text, problems = _read_text(path)
    if text is None:
        return None, problems
    try:
        return parse(text), []
    except ValueError as error:
        return None, [f"{path} {error}"]


def _yaml_settings(text: str) -> Any:
    """Return YAML text parsed, or raise ValueError naming the line it breaks at."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"is not valid YAML{where}") from None


def _read_text(path: Path) -> tuple[str | None, list[str]]:
    """Return a config file's text, or None and the reason it cannot be read."""
    try:
        return path.read_text(encoding="utf-8"), []
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        return None, [f"cannot read {path}: {reason}"]


def check_dendrite_file(
    path: Path, *, config_dir: str | None = None, flags: Sequence[str] = ()
) -> list[str]:
    """Return every problem Dendrite would have with a dendrite.yaml; empty means it passed.

    ``config_dir`` is the folder the file sits in as Dendrite sees it (such as /config in a
    container), so absolute paths into it are looked up beside the file; ``flags`` are the
    command-line flags Dendrite starts with.
    """
    data, problems = load_config(path, _yaml_settings)
    if problems:
        return problems
    if not isinstance(data, Mapping):
        return [f"{path} does not hold a mapping of settings"]
    return check_known_keys("dendrite", data) + dendrite_rules(
        data, path.parent, config_dir=config_dir, flags=flags
    )


def dendrite_rules(
    data: Mapping[str, Any],
    file_dir: Path,
    *,
    config_dir: str | None = None,
    flags: Sequence[str] = (),
) -> list[str]:
    """Return the start-up rules a Dendrite config breaks (facts section 2)."""
    problems: list[str] = []
    version = data.get("version")
    if version != 2:
        problems.append(
            f"version is {version!r}: Dendrite reads only config version 2; set version: 2"
        )
    if not value_at(data, "global.server_name"):
        problems.append("global.server_name is missing: Dendrite needs the server's name")
    problems += _private_key_problems(value_at(data, "global.private_key"), file_dir, config_dir)
    problems += _database_problems(data)
    problems += _registration_problems(data, flags)
    lifetime = value_at(data, "client_api.turn.turn_user_lifetime")
    if lifetime is not None and not (isinstance(lifetime, str) and _GO_DURATION.match(lifetime)):
        problems.append("client_api.turn.turn_user_lifetime is not a duration such as 1h or 30m")
    if value_at(data, "client_api.rate_limiting.enabled") is True:
        for name in ("threshold", "cooloff_ms"):
            value = value_at(data, f"client_api.rate_limiting.{name}")
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                problems.append(
                    f"client_api.rate_limiting.{name} must be a positive whole number "
                    "while rate limiting is enabled"
                )
    client_name = value_at(data, "global.well_known_client_name")
    if client_name and not str(client_name).startswith(("http://", "https://")):
        problems.append("global.well_known_client_name must start with https://")
    size = value_at(data, "media_api.max_file_size_bytes")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        problems.append("media_api.max_file_size_bytes must be a positive number of bytes")
    if value_at(data, "global.metrics.enabled") is True and not (
        value_at(data, "global.metrics.basic_auth.username")
        and value_at(data, "global.metrics.basic_auth.password")
    ):
        problems.append(
            "global.metrics is enabled without basic_auth username and password: "
            "anyone who reaches /metrics can read it; set both"
        )
    logging = data.get("logging")
    if isinstance(logging, list):
        for index, hook in enumerate(logging):
            if not isinstance(hook, Mapping) or not hook.get("type") or not hook.get("level"):
                problems.append(f"logging[{index}] needs both type and level")
    return problems


def _private_key_problems(value: object, file_dir: Path, config_dir: str | None) -> list[str]:
    if not isinstance(value, str) or not value:
        return ["global.private_key is missing: Dendrite needs its signing key file"]
    prefix = config_dir.rstrip("/") + "/" if config_dir else None
    if prefix and value.startswith(prefix):
        location = file_dir / value.removeprefix(prefix)
    else:
        location = Path(value) if Path(value).is_absolute() else file_dir / value
    try:
        text = location.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return [
            f"global.private_key names {value}, which is not a readable key file "
            f"(looked for {location}); create it with generate-keys --private-key"
        ]
    problem = _pem_problem(text)
    return [f"global.private_key {value}: {problem}"] if problem else []


def _pem_problem(text: str) -> str | None:
    """Return what is wrong with a Dendrite PEM signing key, or None when Dendrite can read it."""
    begin, end = f"-----BEGIN {PEM_TYPE}-----", f"-----END {PEM_TYPE}-----"
    if begin not in text or end not in text:
        return f"the file holds no {PEM_TYPE} block"
    inner = text.split(begin, 1)[1].split(end, 1)[0].strip("\n").split("\n")
    headers: dict[str, str] = {}
    while inner and ":" in inner[0]:
        name, _, header_value = inner.pop(0).partition(":")
        headers[name.strip()] = header_value.strip()
    key_id = headers.get("Key-ID", "")
    if not _KEY_ID.match(key_id):
        return "the Key-ID header must be ed25519: followed by letters, digits or _"
    try:
        seed = base64.b64decode("".join(line.strip() for line in inner), validate=True)
    except (binascii.Error, ValueError):
        return "the key is not valid base64"
    if len(seed) != 32:
        return f"the key holds {len(seed)} bytes; an ed25519 seed is 32"
    return None


def _connection_form(where: str, value: object) -> tuple[str | None, str | None]:
    """Return (kind, problem) for a connection string: kind is postgres or sqlite."""
    if not isinstance(value, str) or not value:
        return None, f"{where} is empty"
    if value.startswith("file:"):
        return "sqlite", None
    if value.startswith(("postgres://", "postgresql://")):
        try:
            parts = urlsplit(value)
            _ = parts.port
        except ValueError:
            return "postgres", f"{where} has a bad port; use the form {_URI_EXAMPLE}"
        if not parts.hostname or parts.path in ("", "/"):
            return "postgres", f"{where} needs a host and a database name: {_URI_EXAMPLE}"
        return "postgres", None
    if "=" in value:
        return None, (
            f"{where} is in the key=value form, which Dendrite does not accept; "
            f"use the URI form {_URI_EXAMPLE}"
        )
    return None, f"{where} is neither a postgres:// URI nor a file: SQLite path"


def _database_problems(data: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    global_string = value_at(data, "global.database.connection_string")
    if global_string is not None:
        kind, problem = _connection_form("global.database.connection_string", global_string)
        if problem:
            problems.append(problem)
        elif kind == "sqlite":
            problems.append(
                "global.database is for PostgreSQL only: for SQLite remove it and give each "
                "component its own database block"
            )
    sqlite_files: dict[str, str] = {}
    for section, key, _ in COMPONENT_DATABASES:
        where = f"{section}.{key}.connection_string"
        value = value_at(data, where)
        if value is None:
            if global_string is None:
                problems.append(
                    f"{where} is missing: without global.database (PostgreSQL) every "
                    "component needs its own database"
                )
            continue
        kind, problem = _connection_form(where, value)
        if problem:
            problems.append(problem)
        elif kind == "sqlite":
            if value in sqlite_files:
                problems.append(
                    f"{where} uses the same SQLite file as {sqlite_files[value]}: "
                    "each component needs its own file"
                )
            sqlite_files.setdefault(value, where)
    return problems


def _registration_problems(data: Mapping[str, Any], flags: Sequence[str]) -> list[str]:
    if value_at(data, "client_api.registration_disabled") is not False:
        return []
    if value_at(data, "client_api.enable_registration_captcha") is True:
        return []
    if OPEN_REGISTRATION_FLAG in flags:
        return []
    return [
        "client_api.registration_disabled is false without captcha: Dendrite refuses to start "
        f"unless run with {OPEN_REGISTRATION_FLAG} (a registration token does not count); "
        "pass the flag or set registration_disabled: true"
    ]
