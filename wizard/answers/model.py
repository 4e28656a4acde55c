"""Answers: every choice of a deployment, validated the way the Matrix spec and each program do."""

import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wizard.answers import validators
from wizard.answers.field_types import EXACT_NUMBER, WholeNumber, WholeNumberOrNone, YesNo
from wizard.datafiles import read_yaml
from wizard.errors import UsageError, quoted
from wizard.fit.tiers import DISPLAY_NAMES
from wizard.probe.facts import CpuFacts, HostFacts, MemoryFacts
from wizard.units import MIB

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


class Homeserver(StrEnum):
    """The homeserver programs the wizard deploys."""

    SYNAPSE = "synapse"
    DENDRITE = "dendrite"
    CONDUIT = "conduit"
    CONTINUWUITY = "continuwuity"
    TUWUNEL = "tuwunel"


class Tier(StrEnum):
    """The hardware tier the bundle is tuned for."""

    MINIMUM = "minimum"
    RECOMMENDED = "recommended"
    PRODUCTION = "production"


class Delegation(StrEnum):
    """How other servers find the homeserver host from the server_name."""

    WELL_KNOWN = "well-known"
    SRV = "srv"
    NONE = "none"


class DatabaseKind(StrEnum):
    """Where the homeserver keeps its data; rocksdb is the Conduit family's built-in store."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    ROCKSDB = "rocksdb"


class ProxyKind(StrEnum):
    """The reverse proxy in front of the homeserver."""

    NGINX = "nginx"
    CADDY = "caddy"
    TRAEFIK = "traefik"


class TlsMode(StrEnum):
    """Where certificates come from: ACME, files already on the host, or another proxy."""

    ACME = "acme"
    FILES = "files"
    EXTERNAL = "external"


class RegistrationMode(StrEnum):
    """Who may create an account."""

    CLOSED = "closed"
    TOKEN = "token"
    OPEN = "open"


class EncryptionDefault(StrEnum):
    """Which new rooms are end-to-end encrypted by default (Synapse's room types)."""

    ALL = "all"
    INVITE = "invite"
    OFF = "off"


class RateLimits(StrEnum):
    """How hard the homeserver pushes back on logins, registrations and messages."""

    STRICT = "strict"
    NORMAL = "normal"
    RELAXED = "relaxed"


class Deployment(StrEnum):
    """How the bundle runs on the host."""

    COMPOSE = "compose"
    NATIVE = "native"


POSTGRES_NAME = r"^[a-z_][a-z0-9_]{0,62}$"
S3_REGION = r"^[a-z0-9-]{2,32}$"
S3_ACCESS_KEY_ID = r"^[A-Za-z0-9/+=_-]{4,128}$"

# What each pattern above asks for, in the words a problem with it is reported in.
PATTERN_WORDS = {
    POSTGRES_NAME: "a lower-case letter or _, then up to 62 lower-case letters, digits or _",
    S3_REGION: "2 to 32 lower-case letters, digits or hyphens",
    S3_ACCESS_KEY_ID: "4 to 128 letters, digits or / + = _ -",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


def _notice(info: ValidationInfo, text: str) -> None:
    """Record a note on what the person wrote, when the caller collects notices.

    A note already made on another answer (such as a look-alike part that a derived host
    shares with the server_name) is not repeated.
    """
    if isinstance(info.context, dict):
        notices: list[str] = info.context.setdefault("notices", [])
        if text.partition(": ")[2] not in {said.partition(": ")[2] for said in notices}:
            notices.append(text)


class MachineSection(_Section):
    """The machine the bundle is tuned for; left empty, the tier's own figures are used."""

    cores: WholeNumberOrNone = Field(None, ge=1, le=1024)
    ram_mb: WholeNumberOrNone = Field(None, ge=128, le=16 * 1024 * 1024)


class HomeserverSection(_Section):
    """Which homeserver, tuned for which tier, and whether Synapse runs workers."""

    kind: Homeserver = Field(description="synapse, dendrite, conduit, continuwuity or tuwunel")
    tier: Tier = Field(Tier.RECOMMENDED, description="the hardware tier the bundle is tuned for")
    workers: YesNo | None = Field(
        None,
        description="Synapse workers sized to the machine (needs PostgreSQL): true, false, "
        "or empty for the tier's choice, on at production",
    )
    report_stats: YesNo = Field(False, description="send anonymous usage statistics to matrix.org")

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, value: object, info: ValidationInfo) -> object:
        """Read a count of workers, as earlier answers gave, as on (above 0) or off."""
        if isinstance(value, int) and not isinstance(value, bool):
            _notice(
                info,
                f"homeserver.workers: {value} is read as {str(value > 0).lower()}; the workers "
                "are now sized to the machine",
            )
            return value > 0
        return value


class DomainSection(_Section):
    """The server_name in user IDs, the host that serves the homeserver, and delegation."""

    server_name: str = Field(description="ends every user ID, @you:server_name; cannot change")
    homeserver_host: str = Field(description="the host clients and servers connect to")
    delegation: Delegation = Field(Delegation.WELL_KNOWN)
    element_host: str | None = Field(None, description="optional host for Element Web")

    @field_validator("server_name", mode="before")
    @classmethod
    def _server_name(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        name, notes = validators.normalise_server_name(value)
        for note in notes:
            _notice(info, f"domain.server_name: {note}")
        return name

    @field_validator("homeserver_host", "element_host", mode="before")
    @classmethod
    def _host(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        name, notes = validators.to_ascii_hostname(value)
        for note in notes:
            _notice(info, f"domain.{info.field_name}: {note}")
        return validators.check_dns_name(name)


class DatabaseSection(_Section):
    """The database; with no host the bundle runs its own PostgreSQL beside the homeserver."""

    kind: DatabaseKind
    host: str | None = Field(None, description="an external PostgreSQL host; none = bundled")
    port: WholeNumber = Field(5432, ge=1, le=65535)
    name: str = Field("matrix", pattern=POSTGRES_NAME)
    user: str = Field("matrix", pattern=POSTGRES_NAME)
    accept_sqlite_in_production: YesNo = Field(
        False, description="run Synapse on SQLite at the production tier anyway"
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else validators.check_dns_name(value.lower())


class ProxySection(_Section):
    """The reverse proxy, where its certificates come from, and the federation port."""

    kind: ProxyKind = ProxyKind.NGINX
    tls: TlsMode = TlsMode.ACME
    acme_email: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    federation_port: Annotated[Literal[443, 8448], EXACT_NUMBER] = Field(
        8448, description="8448, or 443 when delegation points servers there"
    )
    federation_ca_path: str | None = Field(
        None,
        description="a private federation's CA certificates (PEM) on the host: other servers' "
        "certificates are checked against these instead of the system's (Synapse only)",
    )

    @field_validator("acme_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else validators.check_email(value)

    @field_validator("cert_path", "key_path", "federation_ca_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else validators.check_absolute_path(value)


class S3Section(_Section):
    """An S3-compatible bucket for media; the secret key lives in the secrets file."""

    bucket: str
    endpoint: str = "https://s3.amazonaws.com"
    region: str = Field("us-east-1", pattern=S3_REGION)
    access_key_id: str = Field(pattern=S3_ACCESS_KEY_ID)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return validators.check_bucket(value)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return validators.check_url(value)


class MediaSection(_Section):
    """Where uploads are kept and how large one may be."""

    backend: Literal["local", "s3"] = "local"
    path: str = "/var/lib/matrix-wizard/media"
    max_upload_mb: WholeNumber = Field(50, ge=1, le=4096)
    s3: S3Section | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return validators.check_absolute_path(value)


class CallsSection(_Section):
    """Calls: TURN for calls through NAT, and MatrixRTC group calls (LiveKit) for Element Call."""

    turn: YesNo = False
    matrix_rtc: YesNo = Field(
        False, description="run LiveKit and lk-jwt-service for Element Call (MatrixRTC)"
    )
    rtc_tcp_port: WholeNumber = Field(
        7881, ge=1024, le=65535, description="LiveKit's public TCP port for media (ICE over TCP)"
    )
    rtc_udp_port: WholeNumber = Field(
        7882, ge=1024, le=65535, description="LiveKit's public UDP port for media (one mux port)"
    )
    turn_host: str | None = None
    relay_min_port: WholeNumber = Field(49152, ge=1024, le=65535)
    relay_max_port: WholeNumber = Field(49407, ge=1024, le=65535)
    external_ip: str | None = Field(None, description="the address clients reach TURN at")
    internal_ip: str | None = Field(
        None, description="behind NAT: the server's own address that external_ip maps to"
    )

    @field_validator("turn_host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else validators.check_dns_name(value.lower())

    @field_validator("external_ip", "internal_ip")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else validators.check_host_address(value)

    @model_validator(mode="after")
    def _nat_pair(self) -> "CallsSection":
        if self.internal_ip is None:
            return self
        if self.external_ip is None:
            raise ValueError("internal_ip is the NAT side of external_ip: give external_ip too")
        if validators.ip_version(self.internal_ip) != validators.ip_version(self.external_ip):
            raise ValueError("external_ip and internal_ip must both be IPv4 or both IPv6")
        return self


class AuthSection(_Section):
    """Matrix Authentication Service (MAS): sign-up and login handled beside Synapse.

    Off unless chosen, for new bundles too: Element X signs people up only through MAS, but
    the bundle's default is closed registration, where password logins work without it; MAS
    owns every account once on, and moving an existing server's accounts to it
    (syn2mas) is a one-way step the bundle does not take for anyone.
    """

    mas: YesNo = Field(
        False,
        description="Matrix Authentication Service for Synapse on PostgreSQL: the sign-up and "
        "login Element X needs; it then owns accounts, passwords and registration",
    )
    mas_host: str | None = Field(None, description="the host MAS serves; empty: auth.<server>")

    @field_validator("mas_host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else validators.check_dns_name(value.lower())


class RegistrationSection(_Section):
    """Who may sign up."""

    mode: RegistrationMode = RegistrationMode.CLOSED


class EncryptionSection(_Section):
    """End-to-end encryption for new rooms."""

    by_default: EncryptionDefault = EncryptionDefault.ALL


class RateLimitSection(_Section):
    """Limits on logins, registrations, messages and federation."""

    preset: RateLimits = RateLimits.NORMAL


class BackupSection(_Section):
    """Nightly database dumps and media copies, with retention."""

    enabled: YesNo = True
    path: str = "/var/backups/matrix-wizard"
    keep_days: WholeNumber = Field(14, ge=1, le=3650)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return validators.check_absolute_path(value)


class FirewallSection(_Section):
    """A host firewall opening exactly the ports in use."""

    enabled: YesNo = True
    ssh_port: WholeNumber = Field(22, ge=1, le=65535)


class MonitoringSection(_Section):
    """Prometheus scraping the homeserver, and Grafana over it."""

    prometheus: YesNo = False
    grafana: YesNo = False


class PortsSection(_Section):
    """The ports everything listens on; change them behind another proxy or to stage a test."""

    http: WholeNumber = Field(80, ge=1, le=65535)
    https: WholeNumber = Field(443, ge=1, le=65535)
    federation: WholeNumber = Field(8448, ge=1, le=65535)
    homeserver: WholeNumber = Field(8008, ge=1, le=65535)
    metrics: WholeNumber = Field(9000, ge=1, le=65535)
    synapse_workers: WholeNumber = Field(
        8100, ge=1, le=65000, description="Synapse's workers listen on the ports after this one"
    )
    postgres: WholeNumber = Field(5432, ge=1, le=65535)
    turn: WholeNumber = Field(3478, ge=1, le=65535)
    turns: WholeNumber = Field(5349, ge=1, le=65535)
    livekit: WholeNumber = Field(
        7880, ge=1, le=65535, description="LiveKit's signalling port, behind the proxy"
    )
    lk_jwt: WholeNumber = Field(
        6080, ge=1, le=65535, description="lk-jwt-service's port, behind the proxy"
    )
    prometheus: WholeNumber = Field(9090, ge=1, le=65535)
    grafana: WholeNumber = Field(3000, ge=1, le=65535)
    wellknown: WholeNumber = Field(
        8090, ge=1, le=65535, description="loopback server of /.well-known for native Traefik"
    )
    caddy_admin: WholeNumber = Field(
        2019, ge=1, le=65535, description="Caddy's admin API, on loopback"
    )
    mas: WholeNumber = Field(8085, ge=1, le=65535, description="Matrix Authentication Service")


class DeploymentSection(_Section):
    """How the bundle runs, and the prefix under which every absolute path lives."""

    kind: Deployment = Deployment.COMPOSE
    install_dir: str = "/opt/matrix-wizard"
    data_dir: str = "/var/lib/matrix-wizard"
    prefix: str = ""
    ports: PortsSection = Field(default_factory=PortsSection)

    @field_validator("install_dir", "data_dir")
    @classmethod
    def _dirs(cls, value: str) -> str:
        return validators.check_absolute_path(value)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value and validators.check_absolute_path(value)


# Conduit and its successors: one binary each, with its data in a built-in key-value store.
CONDUIT_FAMILY = frozenset({Homeserver.CONDUIT, Homeserver.CONTINUWUITY, Homeserver.TUWUNEL})
# The successors keep media inside their data folder, with no setting to move it elsewhere.
MEDIA_IN_DATA_FOLDER = frozenset({Homeserver.CONTINUWUITY, Homeserver.TUWUNEL})

DEFAULT_DATABASE = {
    Homeserver.SYNAPSE: DatabaseKind.POSTGRESQL,
    Homeserver.DENDRITE: DatabaseKind.POSTGRESQL,
    Homeserver.CONDUIT: DatabaseKind.ROCKSDB,
    Homeserver.CONTINUWUITY: DatabaseKind.ROCKSDB,
    Homeserver.TUWUNEL: DatabaseKind.ROCKSDB,
}
SUPPORTED_DATABASES = {
    Homeserver.SYNAPSE: (DatabaseKind.POSTGRESQL, DatabaseKind.SQLITE),
    Homeserver.DENDRITE: (DatabaseKind.POSTGRESQL, DatabaseKind.SQLITE),
    Homeserver.CONDUIT: (DatabaseKind.ROCKSDB, DatabaseKind.SQLITE),
    Homeserver.CONTINUWUITY: (DatabaseKind.ROCKSDB,),
    Homeserver.TUWUNEL: (DatabaseKind.ROCKSDB,),
}


def _if_valid(check: Callable[[str], str], value: str) -> str | None:
    """Return a derived value when its check accepts it, so a default never brings a problem."""
    try:
        return check(value)
    except ValueError:
        return None


def default_homeserver_host(server_name: str) -> str:
    """Return the homeserver host a normalised server_name suggests: matrix.<host>.

    A host that already starts with matrix., or that is too long to take the prefix, serves
    the homeserver itself.
    """
    host = validators.server_name_host(server_name)
    if host.startswith("matrix."):
        return host
    return _if_valid(validators.check_dns_name, f"matrix.{host}") or host


class Answers(_Section):
    """Every choice of one deployment; no secrets, replayable with `generate --answers`."""

    version: Annotated[Literal[1], EXACT_NUMBER] = 1
    homeserver: HomeserverSection
    domain: DomainSection
    database: DatabaseSection
    proxy: ProxySection = Field(default_factory=ProxySection)
    media: MediaSection = Field(default_factory=MediaSection)
    calls: CallsSection = Field(default_factory=CallsSection)
    auth: AuthSection = Field(default_factory=AuthSection)
    registration: RegistrationSection = Field(default_factory=RegistrationSection)
    encryption: EncryptionSection = Field(default_factory=EncryptionSection)
    rate_limits: RateLimitSection = Field(default_factory=RateLimitSection)
    backups: BackupSection = Field(default_factory=BackupSection)
    firewall: FirewallSection = Field(default_factory=FirewallSection)
    monitoring: MonitoringSection = Field(default_factory=MonitoringSection)
    deployment: DeploymentSection = Field(default_factory=DeploymentSection)
    machine: MachineSection = Field(default_factory=MachineSection)

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        """Fill the choices that follow from others: hosts from server_name, database from kind."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for (section_name, key), value in derived_answers(data).items():
            section = data.get(section_name)
            if section is not None and not isinstance(section, dict):
                continue  # the section's own validation reports the bad value
            section = dict(section or {})
            missing = key not in section
            if missing or ((section_name, key) in _FILLED_WHEN_EMPTY and not section[key]):
                section[key] = value
            data[section_name] = section
        return data


# A derived answer fills its place when the place is missing; these also when it is empty.
_FILLED_WHEN_EMPTY = frozenset(
    {("domain", "homeserver_host"), ("calls", "turn_host"), ("auth", "mas_host")}
)
DERIVED_KEYS = frozenset(
    {
        ("domain", "homeserver_host"),
        ("proxy", "acme_email"),
        ("calls", "turn_host"),
        ("auth", "mas_host"),
        ("database", "kind"),
        ("database", "name"),
        ("database", "user"),
    }
)
"""Every answer that derived_answers may give, by (section, key)."""


def derived_answers(data: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """Return, by (section, key), the value each answer takes from others in data when not given.

    The homeserver host, the ACME e-mail (with ACME), the TURN host (with TURN) and the MAS
    host (with MAS) follow from the server_name; the database's kind, name and user from the
    homeserver. An answer is left out while its source is not valid, or when what would follow
    fails its own check.
    """
    derived: dict[tuple[str, str], Any] = {}
    server_name = _section(data, "domain").get("server_name")
    name = None
    if isinstance(server_name, str):
        name = _if_valid(lambda text: validators.normalise_server_name(text)[0], server_name)
    if name:
        host = validators.server_name_host(name)
        derived["domain", "homeserver_host"] = default_homeserver_host(name)
        email = _if_valid(validators.check_email, f"admin@{host}")
        if email and _section(data, "proxy").get("tls", TlsMode.ACME.value) == TlsMode.ACME.value:
            derived["proxy", "acme_email"] = email
        turn_host = _if_valid(validators.check_dns_name, f"turn.{host}")
        if turn_host and _section(data, "calls").get("turn"):
            derived["calls", "turn_host"] = turn_host
        mas_host = _if_valid(validators.check_dns_name, f"auth.{host}")
        if mas_host and _section(data, "auth").get("mas"):
            derived["auth", "mas_host"] = mas_host
    kind = _section(data, "homeserver").get("kind")
    if isinstance(kind, str) and kind in Homeserver._value2member_map_:
        homeserver = Homeserver(kind)
        derived["database", "kind"] = DEFAULT_DATABASE[homeserver].value
        derived["database", "name"] = homeserver.value
        derived["database", "user"] = homeserver.value
    return derived


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    """Return a section of answers data, or an empty one where it is missing or not a section."""
    section = data.get(name)
    return section if isinstance(section, dict) else {}


class Problem(BaseModel):
    """One thing wrong in an answers file: where, and what to do."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class AnswersError(UsageError):
    """An answers file with one or more problems, each with its path; one problem is one line."""

    def __init__(self, problems: list[Problem]) -> None:
        if len(problems) == 1:
            super().__init__(str(problems[0]))
        else:
            super().__init__(
                f"the answers have {len(problems)} problems",
                "fix each and try again",
                details=[str(problem) for problem in problems],
            )
        self.problems = problems


def combination_problems(answers: Answers) -> list[Problem]:
    """Return the choices that do not go together, each with the reason."""
    problems: list[Problem] = []
    hs = answers.homeserver.kind
    db = answers.database.kind
    if db not in SUPPORTED_DATABASES[hs]:
        problems.append(Problem(path="database.kind", message=_database_refusal(hs, db)))
    problems += _conduit_family_problems(answers)
    problems += _element_web_problems(answers)
    problems += _mas_problems(answers)
    if answers.homeserver.workers and (
        hs is not Homeserver.SYNAPSE or db is not DatabaseKind.POSTGRESQL
    ):
        problems.append(
            Problem(
                path="homeserver.workers",
                message="workers are a Synapse feature and need PostgreSQL; "
                "set workers to false or use Synapse with postgresql",
            )
        )
    if hs is Homeserver.DENDRITE and answers.registration.mode is RegistrationMode.TOKEN:
        # Dendrite's registration_requires_token only turns on its token admin API: sign-up
        # still offers m.login.dummy alone (seen with v0.13.8; element-hq/dendrite#3097, open).
        problems.append(
            Problem(
                path="registration.mode",
                message="Dendrite does not check registration tokens: by token, anyone could "
                "sign up; use closed (make accounts with create-account), or Synapse or Conduit",
            )
        )
    if answers.proxy.federation_ca_path and hs is not Homeserver.SYNAPSE:
        problems.append(
            Problem(
                path="proxy.federation_ca_path",
                message=f"{hs.value} has no setting for a private federation's CA; add the CA to "
                "the host's trust store instead, or use Synapse",
            )
        )
    if (
        hs is Homeserver.SYNAPSE
        and db is DatabaseKind.SQLITE
        and answers.homeserver.tier is Tier.PRODUCTION
        and not answers.database.accept_sqlite_in_production
    ):
        problems.append(
            Problem(
                path="database.kind",
                message="SQLite is for trying Synapse out and becomes extremely slow in "
                "production; use postgresql, or set database.accept_sqlite_in_production: true",
            )
        )
    if answers.database.host and db is not DatabaseKind.POSTGRESQL:
        problems.append(
            Problem(path="database.host", message="a database host only applies to postgresql")
        )
    proxy = answers.proxy
    if proxy.tls is TlsMode.ACME and not proxy.acme_email:
        problems.append(
            Problem(
                path="proxy.acme_email",
                message="ACME needs an e-mail address for expiry notices, such as "
                "admin@example.com (or choose tls: files or external)",
            )
        )
    if proxy.tls is TlsMode.FILES and not (proxy.cert_path and proxy.key_path):
        problems.append(
            Problem(
                path="proxy.cert_path",
                message="tls: files needs both cert_path and key_path (absolute paths on the host)",
            )
        )
    if proxy.federation_port == 443 and answers.domain.delegation is Delegation.NONE:
        server_host = validators.server_name_host(answers.domain.server_name)
        if ":" not in answers.domain.server_name or server_host != answers.domain.homeserver_host:
            problems.append(
                Problem(
                    path="proxy.federation_port",
                    message="without delegation other servers connect to port 8448; "
                    "use delegation well-known or srv to federate on 443",
                )
            )
    if answers.media.backend == "s3" and answers.media.s3 is None:
        problems.append(
            Problem(path="media.s3", message="media backend s3 needs bucket and access_key_id")
        )
    if answers.calls.relay_min_port > answers.calls.relay_max_port:
        problems.append(
            Problem(
                path="calls.relay_min_port", message="relay_min_port must not exceed relay_max_port"
            )
        )
    problems += matrix_rtc_problems(answers)
    if answers.monitoring.grafana and not answers.monitoring.prometheus:
        problems.append(
            Problem(
                path="monitoring.grafana",
                message="Grafana shows Prometheus data: turn on prometheus too",
            )
        )
    ports = answers.deployment.ports.model_dump()
    seen: dict[int, str] = {}
    for name, port in ports.items():
        if port in seen:
            problems.append(
                Problem(
                    path=f"deployment.ports.{name}",
                    message=f"port {port} is already taken by deployment.ports.{seen[port]}",
                )
            )
        seen.setdefault(port, name)
    return problems


# The homeservers that serve what Element Call needs besides LiveKit: delayed events (MSC4140),
# sync's state_after (MSC4222) and the room summary API (MSC3266).
MATRIX_RTC_HOMESERVERS = frozenset(
    {Homeserver.SYNAPSE, Homeserver.CONTINUWUITY, Homeserver.TUWUNEL}
)


def matrix_rtc_problems(answers: Answers) -> list[Problem]:
    """Return why MatrixRTC calls cannot be set up with these answers, each with the way out."""
    calls = answers.calls
    if not calls.matrix_rtc:
        return []
    problems: list[Problem] = []
    hs = answers.homeserver.kind
    if hs not in MATRIX_RTC_HOMESERVERS:
        problems.append(
            Problem(
                path="calls.matrix_rtc",
                message=f"{DISPLAY_NAMES[hs.value]} lacks the delayed events and sync state_after "
                "that Element Call needs; use Synapse, continuwuity or tuwunel, or set "
                "matrix_rtc: false (TURN still serves one-to-one calls)",
            )
        )
    if calls.external_ip is None:
        problems.append(
            Problem(
                path="calls.external_ip",
                message="MatrixRTC calls need the public IP address LiveKit gives clients for "
                "media, such as 203.0.113.10; without it LiveKit would advertise internal "
                "(container) addresses no client can reach",
            )
        )
    if calls.rtc_tcp_port == calls.rtc_udp_port:
        problems.append(
            Problem(
                path="calls.rtc_udp_port",
                message="give LiveKit's UDP and TCP media ports different numbers",
            )
        )
    taken = {port: name for name, port in answers.deployment.ports.model_dump().items()}
    for name in ("rtc_tcp_port", "rtc_udp_port"):
        port = getattr(calls, name)
        if port in taken:
            problems.append(
                Problem(
                    path=f"calls.{name}",
                    message=f"port {port} is already taken by deployment.ports.{taken[port]}; "
                    "choose another",
                )
            )
        elif calls.turn and calls.relay_min_port <= port <= calls.relay_max_port:
            problems.append(
                Problem(
                    path=f"calls.{name}",
                    message=f"port {port} is in TURN's relay range "
                    f"{calls.relay_min_port}-{calls.relay_max_port}; choose a port outside it",
                )
            )
    return problems


def _database_refusal(hs: Homeserver, db: DatabaseKind) -> str:
    """Say why a homeserver cannot use a database, and which it can."""
    supported = SUPPORTED_DATABASES[hs]
    fix = "use " + " or ".join(kind.value for kind in supported)
    if hs not in CONDUIT_FAMILY:
        return f"{hs.value} cannot use {db.value}; {fix}"
    name = DISPLAY_NAMES[hs.value]
    if db is DatabaseKind.POSTGRESQL:
        reason = f"{name} has no PostgreSQL support: it keeps its data in its built-in store"
    else:
        reason = f"{name} keeps its data in RocksDB only, its built-in store"
    if len(supported) > 1:
        fix = f"use {supported[0].value} (recommended) or " + " or ".join(
            kind.value for kind in supported[1:]
        )
    return f"{reason}; {fix}"


def _element_web_problems(answers: Answers) -> list[Problem]:
    """Return why Element Web cannot be served at its host: a homeserver's host, native Traefik."""
    domain = answers.domain
    if domain.element_host is None:
        return []
    server_host = validators.server_name_host(domain.server_name)
    taken = {server_host: "the server_name", domain.homeserver_host: "the homeserver host"}
    if domain.element_host in taken:
        # Element Web's README: a client sharing the homeserver's origin lets content served
        # by the Matrix APIs reach it (cross-site scripting).
        return [
            Problem(
                path="domain.element_host",
                message=f"Element Web must not share {taken[domain.element_host]} "
                f"({domain.element_host}): content served by the homeserver could then script "
                f"it; use a host of its own, such as element.{server_host}",
            )
        ]
    if answers.deployment.kind is Deployment.NATIVE and answers.proxy.kind is ProxyKind.TRAEFIK:
        return [
            Problem(
                path="proxy.kind",
                message="Traefik cannot serve Element Web's files without containers; "
                "choose nginx or Caddy, or the compose deployment, or no Element Web host",
            )
        ]
    return []


def _mas_problems(answers: Answers) -> list[Problem]:
    """Return why MAS cannot run with these answers: it serves Synapse, on PostgreSQL."""
    if not answers.auth.mas:
        return []
    hs = answers.homeserver.kind
    if hs is not Homeserver.SYNAPSE:
        return [
            Problem(
                path="auth.mas",
                message=f"Matrix Authentication Service works with Synapse only, not "
                f"{hs.value}; set auth.mas: false or choose Synapse",
            )
        ]
    if answers.database.kind is not DatabaseKind.POSTGRESQL:
        return [
            Problem(
                path="auth.mas",
                message="Matrix Authentication Service keeps its data in PostgreSQL only; use "
                "database kind postgresql or set auth.mas: false",
            )
        ]
    return []


def _conduit_family_problems(answers: Answers) -> list[Problem]:
    """Return what Conduit's successors cannot do: open sign-up, S3 media, media elsewhere."""
    hs = answers.homeserver.kind
    if hs not in MEDIA_IN_DATA_FOLDER:
        return []
    name = DISPLAY_NAMES[hs.value]
    problems: list[Problem] = []
    if answers.registration.mode is RegistrationMode.OPEN:
        # Both refuse to start with registration open to anyone unless told, by a setting named
        # for how sure one is, that the server will be abused (facts 3.2 and 3.3).
        problems.append(
            Problem(
                path="registration.mode",
                message=f"{name} refuses to start with registration open to anyone; use token "
                "(people sign up with a token you give them) or closed",
            )
        )
    if answers.media.backend == "s3":
        problems.append(
            Problem(
                path="media.backend",
                message=f"the bundle keeps {name}'s media in its data folder; set media.backend: "
                "local, or choose Synapse or Conduit for S3 media",
            )
        )
    if answers.media.path != MediaSection.model_fields["path"].default:
        problems.append(
            Problem(
                path="media.path",
                message=f"{name} keeps media inside its data folder and has no setting to move "
                "it; leave media.path out",
            )
        )
    return problems


# Where another disk is mounted by convention (FHS): a backup there is taken to be off the disk
# that holds the data; anywhere else, on it.
OTHER_DISK_MOUNTS = ("/mnt/", "/media/")


def _disk_of(path: str) -> str:
    """Return the mount a path is taken to be on: /mnt/<name> or /media/<name>, else /."""
    if not path.startswith(OTHER_DISK_MOUNTS):
        return "/"
    return "/".join(path.split("/")[:3])


def _backups_on_the_data_disk(answers: Answers) -> str | None:
    """Return a warning when backups stay on the disk of the homeserver's data, else None."""
    backups = answers.backups
    if not backups.enabled or _disk_of(backups.path) != _disk_of(answers.deployment.data_dir):
        return None
    return (
        f"backups go to {backups.path}, on the disk of the data ({answers.deployment.data_dir}):"
        " copy them to another machine (README: Backups), or to a disk under /mnt or /media"
    )


def warnings(answers: Answers) -> list[str]:
    """Return the choices that are allowed but unwise, in the overview's words."""
    found: list[str] = []
    hs = answers.homeserver.kind
    if hs is Homeserver.SYNAPSE and answers.database.kind is DatabaseKind.SQLITE:
        found.append("Synapse on SQLite is for trying out only: it becomes extremely slow in use")
        if answers.homeserver.workers is None and answers.homeserver.tier is Tier.PRODUCTION:
            found.append(
                "Synapse on SQLite runs as one process: the workers the production tier runs "
                "need PostgreSQL"
            )
    if hs is Homeserver.DENDRITE:
        found.append(
            "Dendrite is in maintenance mode: it receives security fixes only, and without "
            "sliding sync or native OIDC Element X works poorly with it"
        )
    if hs is Homeserver.CONDUIT:
        found.append(
            "Conduit is beta software and slower-moving (0.10.x); continuwuity and tuwunel, "
            "its successors, are actively developed"
        )
    if answers.registration.mode is RegistrationMode.OPEN:
        found.append("open registration invites spam accounts; prefer registration by token")
    if answers.domain.delegation is Delegation.SRV:
        found.append("with SRV delegation the certificate must also cover the server_name")
    same_disk = _backups_on_the_data_disk(answers)
    if same_disk:
        found.append(same_disk)
    if answers.encryption.by_default is EncryptionDefault.OFF:
        found.append("new rooms will not be end-to-end encrypted by default")
    elif hs is not Homeserver.SYNAPSE:
        found.append(
            f"{hs.value} has no setting to encrypt new rooms by default, so "
            "encryption.by_default is left to the clients (Element encrypts new private rooms "
            "itself)"
        )
    return found


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,40}")
# What a value of the wrong kind should have been, by pydantic's error type.
_KIND_WORDS = {
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "model_type": "must be a section of settings (key: value lines)",
}


def _describe_value(value: object) -> str:
    """Name a value as YAML writes it, briefly: true, 8448.5, 'text', a list, a section."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a section"
    if isinstance(value, int | float) and len(str(value)) <= 20:
        return str(value)
    return quoted(str(value))


def _problem_words(item: "ErrorDetails") -> str:
    """Return what is wrong with one value and what would be right, in the answers' words."""
    kind = item["type"]
    ctx = item.get("ctx", {})
    given = _describe_value(item["input"])
    if kind == "extra_forbidden":
        return "is not a known setting; check its spelling (matrix-wizard schema lists all)"
    if kind == "missing":
        return "is required"
    if kind == "invalid_key":
        return f"is not a known setting: the name of a setting is a word, not {given}"
    if kind in _KIND_WORDS:
        return f"{_KIND_WORDS[kind]}, not {given}"
    if kind in ("literal_error", "enum"):
        return f"must be {ctx['expected']}, not {given}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, not {given}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}, not {given}"
    if kind == "string_pattern_mismatch" and ctx["pattern"] in PATTERN_WORDS:
        return f"must be {PATTERN_WORDS[ctx['pattern']]}"
    return item["msg"].removeprefix("Value error, ")


def _path_of(location: tuple[int | str, ...]) -> str:
    """Return where a problem is, as section.key; a key that is not plain words is quoted."""
    return ".".join(
        part if isinstance(part, str) and _PLAIN_KEY.fullmatch(part) else quoted(str(part))
        for part in location
    )


def _problems_from(error: ValidationError) -> list[Problem]:
    problems = []
    paths = {_path_of(item["loc"]) for item in error.errors()}
    for item in error.errors():
        path = _path_of(item["loc"])
        if path == "domain.homeserver_host" and "domain.server_name" in paths:
            continue  # it follows from the server_name, whose own problem is reported
        if path == "database" and item["type"] == "missing" and "homeserver.kind" in paths:
            continue  # the database follows from the homeserver, whose own problem is reported
        problems.append(Problem(path=path, message=_problem_words(item)))
    return problems


def parse_answers(data: object) -> tuple[Answers, list[str]]:
    """Validate answers data and return the model with notes on what was normalised."""
    if data is None:
        raise AnswersError(
            [
                Problem(
                    path="", message="the answers are empty: give at least homeserver: and domain:"
                )
            ]
        )
    if not isinstance(data, dict):
        raise AnswersError(
            [
                Problem(
                    path="",
                    message="the answers must be sections such as homeserver: and domain:, "
                    f"not {_describe_value(data)}",
                )
            ]
        )
    context: dict[str, list[str]] = {"notices": []}
    try:
        answers = Answers.model_validate(data, context=context)
    except ValidationError as error:
        raise AnswersError(_problems_from(error)) from None
    problems = combination_problems(answers)
    if problems:
        raise AnswersError(problems)
    return answers, context["notices"]


def load_answers_file(path: Path) -> tuple[Answers, list[str]]:
    """Read and validate an answers.yaml, reporting every problem at once."""
    data = read_yaml(
        path,
        what="answers file ",
        unreadable_hint="give the path of an answers.yaml (matrix-wizard answers writes one)",
        invalid_hint="fix the syntax and try again",
        error=UsageError,
    )
    return parse_answers(data)


def dump_answers(answers: Answers) -> str:
    """Return answers as YAML with every default filled in, in the model's order."""
    header = "# matrix-wizard answers: replay with `matrix-wizard generate --answers FILE`\n"
    body = yaml.safe_dump(answers.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return header + body


def answers_schema() -> dict[str, Any]:
    """Return the JSON Schema of the answers file."""
    return Answers.model_json_schema()


def tuned_facts(answers: Answers) -> HostFacts | None:
    """Return the machine the answers say the bundle is tuned for, if they name one."""
    machine = answers.machine
    if machine.cores is None and machine.ram_mb is None:
        return None
    return HostFacts(
        source="manual",
        cpu=CpuFacts(logical=machine.cores),
        memory=MemoryFacts(total=None if machine.ram_mb is None else machine.ram_mb * MIB),
    )
