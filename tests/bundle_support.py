"""Build answers and render contexts for bundle tests, from a few choices and dotted overrides."""

from typing import Any

from wizard.answers.model import Answers, parse_answers
from wizard.answers.secret_store import Secrets
from wizard.bundle.context import RenderContext
from wizard.probe.facts import CpuFacts, DiskFacts, DiskKind, HostFacts, MemoryFacts
from wizard.units import GIB

# Every homeserver; every homeserver with every database it supports; every proxy.
HOMESERVERS = ["synapse", "dendrite", "conduit", "continuwuity", "tuwunel"]
STACKS = [
    ("synapse", "postgresql"),
    ("synapse", "sqlite"),
    ("dendrite", "postgresql"),
    ("dendrite", "sqlite"),
    ("conduit", "rocksdb"),
    ("conduit", "sqlite"),
    ("continuwuity", "rocksdb"),
    ("tuwunel", "rocksdb"),
]
PROXIES = ["nginx", "caddy", "traefik"]


def answers_for(
    homeserver: str = "synapse",
    database: str | None = None,
    proxy: str = "nginx",
    server_name: str = "example.com",
    **sets: Any,
) -> Answers:
    """Return validated answers; ``sets`` are dotted keys spelt with __, e.g. calls__turn=True."""
    data: dict[str, Any] = {
        "homeserver": {"kind": homeserver},
        "domain": {"server_name": server_name},
        "proxy": {"kind": proxy, "acme_email": "admin@example.com"},
    }
    if database:
        data["database"] = {"kind": database}
    for dotted, value in sets.items():
        *parents, leaf = dotted.split("__")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    answers, _ = parse_answers(data)
    return answers


def facts_with(ram_gib: float = 4, cores: int = 2, disk_gib: float = 80) -> HostFacts:
    """Return the facts of a machine with the given RAM, cores and free disk."""
    return HostFacts(
        source="manual",
        cpu=CpuFacts(logical=cores, physical=cores, arch="x86_64"),
        memory=MemoryFacts(total=int(ram_gib * GIB)),
        disk=DiskFacts(total=int(disk_gib * GIB), free=int(disk_gib * GIB), kind=DiskKind.SSD),
    )


FIXED_SECRETS = Secrets(
    database_password="dbpassDBPASS0123456789",
    postgres_superuser_password="pgsuperPGSUPER0123456789",
    registration_shared_secret="regsecretREGSECRET0123456789",
    macaroon_secret_key="macaroonMACAROON0123456789",
    form_secret="formFORM0123456789",
    turn_shared_secret="turnTURN0123456789",
    livekit_api_key="APIlivekitKEY0123",
    livekit_api_secret="livekitSECRETlivekitSECRET0123456789",
    metrics_password="metricsMETRICS0123456789",
    grafana_admin_password="grafanaGRAFANA0123456789",
    signing_key_id="a_TeSt",
    signing_key_seed="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    mas_database_password="masdbMASDB0123456789",
    mas_shared_secret="massharedMASSHARED0123456789",
    mas_encryption_key="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
)


def context_for(answers: Answers | None = None, facts: HostFacts | None = None) -> RenderContext:
    """Return a render context with fixed secrets, for deterministic tests."""
    return RenderContext(
        answers=answers or answers_for(), facts=facts or facts_with(), secrets=FIXED_SECRETS
    )


def reapply_answers(deployment: str) -> dict[str, Any]:
    """Return the answers the apply-again tests start from: Synapse on SQLite, nginx, TLS, TURN."""
    return {
        "homeserver": {"kind": "synapse"},
        "domain": {"server_name": "example.com"},
        "database": {"kind": "sqlite"},
        "proxy": {
            "kind": "nginx",
            "tls": "files",
            "cert_path": "/etc/ssl/matrix/fullchain.pem",
            "key_path": "/etc/ssl/matrix/privkey.pem",
        },
        "calls": {"turn": True},
        "deployment": {"kind": deployment},
    }


def with_larger_uploads(answers: dict[str, Any]) -> dict[str, Any]:
    """Return the answers with a larger upload limit.

    The limit is in homeserver.yaml (Synapse's) and nginx/matrix.conf (the body limit);
    coturn's files do not change.
    """
    return {**answers, "media": {"max_upload_mb": 80}}
