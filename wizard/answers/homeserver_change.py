"""What the other answers keep when the homeserver changes, and why they drop the rest."""

from typing import Any

from wizard.answers.model import (
    DEFAULT_DATABASE,
    MEDIA_IN_DATA_FOLDER,
    SUPPORTED_DATABASES,
    DatabaseKind,
    Homeserver,
    MediaSection,
)
from wizard.fit.tiers import DISPLAY_NAMES

_DEFAULT_PORT = 5432
# The PostgreSQL settings of the database section, as a notice names them.
_POSTGRES_SETTINGS = {"host": "host", "port": "port", "name": "database name", "user": "user"}


def kept_for(data: dict[str, Any], homeserver: Homeserver) -> tuple[dict[str, Any], dict[str, str]]:
    """Return answers data with what another homeserver cannot take dropped, and why, by section.

    Everything that still applies is kept: Dendrite uses PostgreSQL as Synapse does, so an
    external database stays as it was, named as it was. What the homeserver cannot use is
    dropped (a database it does not support, PostgreSQL settings for one with no PostgreSQL,
    settings it has no place for), and the reason is given in plain words for the section it
    was dropped from. The homeserver section itself is left to the caller.
    """
    kept = dict(data)
    said: dict[str, str] = {}
    name = DISPLAY_NAMES[homeserver.value]
    earlier = kept.get("homeserver")
    kind = earlier.get("kind") if isinstance(earlier, dict) else None
    previous = Homeserver(kind) if isinstance(kind, str) and kind in set(Homeserver) else None
    database = kept.get("database")
    if isinstance(database, dict):
        kept["database"], words = _database_for(database, previous, homeserver)
        if words:
            said["database"] = words
    proxy = kept.get("proxy")
    if (
        isinstance(proxy, dict)
        and proxy.get("federation_ca_path")
        and (homeserver is not Homeserver.SYNAPSE)
    ):
        path = proxy["federation_ca_path"]
        kept["proxy"] = {key: value for key, value in proxy.items() if key != "federation_ca_path"}
        said["proxy"] = (
            f"{name} has no setting for a private federation's CA, so the CA file {path} was "
            "dropped; add the CA to the host's trust store instead"
        )
    auth = kept.get("auth")
    if isinstance(auth, dict) and auth.get("mas") and homeserver is not Homeserver.SYNAPSE:
        kept["auth"] = {key: value for key, value in auth.items() if key not in ("mas", "mas_host")}
        said["auth"] = (
            f"the Matrix Authentication Service works with Synapse only, so it was turned off "
            f"for {name}"
        )
    media = kept.get("media")
    default_path = MediaSection.model_fields["path"].default
    if (
        isinstance(media, dict)
        and media.get("path") not in (None, default_path)
        and homeserver in MEDIA_IN_DATA_FOLDER
    ):
        path = media["path"]
        kept["media"] = {key: value for key, value in media.items() if key != "path"}
        said["media"] = (
            f"{name} keeps media inside its data folder, so the media folder {path} was dropped"
        )
    return kept, said


def _database_for(
    section: dict[str, Any], previous: Homeserver | None, homeserver: Homeserver
) -> tuple[dict[str, Any], str]:
    """Return the database section kept for the homeserver, and what was dropped and why."""
    kept = dict(section)
    name = DISPLAY_NAMES[homeserver.value]
    supported = {kind.value for kind in SUPPORTED_DATABASES[homeserver]}
    said: list[str] = []
    chosen = kept.get("kind")
    if chosen is not None and chosen not in supported:
        del kept["kind"]
        said.append(
            f"{name} cannot use {chosen}, so the database is now "
            f"{DEFAULT_DATABASE[homeserver].value}, its default"
        )
    if DatabaseKind.POSTGRESQL.value in supported:
        if kept.get("host") and previous not in (None, homeserver):
            # An external database exists by its name and user: they stay, not follow.
            kept.setdefault("name", previous.value)
            kept.setdefault("user", previous.value)
        return kept, "; ".join(said)
    given = [
        f"{words} {kept[key]}"
        for key, words in _POSTGRES_SETTINGS.items()
        if kept.get(key) not in (None, "", _DEFAULT_PORT, str(_DEFAULT_PORT))
    ]
    for key in _POSTGRES_SETTINGS:
        kept.pop(key, None)
    if given:
        said.append(
            f"{name} has no PostgreSQL support: it keeps its data in its built-in store, so the "
            f"PostgreSQL {_listed(given)} {'was' if len(given) == 1 else 'were'} dropped"
        )
    return kept, "; ".join(said)


def _listed(parts: list[str]) -> str:
    """Return parts as words: a, b and c."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
