"""The words a person sees for each answer: the label beside its field, by the answer's path."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.answers.model import Problem

# Every field's label, by its path: its place in the answers file (such as domain.server_name),
# or for what the answers file does not hold, a path of the step's own (such as plan.ram).
LABELS: dict[str, str] = {
    "mode": "The bundle is for",
    "draft": "Draft file",
    "local.data_path": "Data folder",
    "remote.host": "Host",
    "remote.port": "Port",
    "remote.user": "User",
    "remote.key_file": "Key file",
    "plan.source": "Describe it by",
    "plan.profile": "Profile",
    "plan.cores": "CPU cores",
    "plan.ram": "RAM",
    "plan.disk": "Free disk",
    "plan.kind": "Disk kind",
    "plan.sqlite_move": "Coming from SQLite",
    "homeserver.kind": "Homeserver",
    "homeserver.tier": "Tune for tier",
    "homeserver.workers": "Synapse workers",
    "deployment.kind": "Run it with",
    "domain.server_name": "Server name",
    "domain.homeserver_host": "Homeserver host",
    "domain.delegation": "Delegation",
    "domain.element_host": "Element Web host",
    "database.kind": "Database",
    "database.accept_sqlite_in_production": "Use SQLite at production anyway",
    "database.host": "External host",
    "database.port": "Port",
    "database.name": "Database name",
    "database.user": "User",
    "proxy.kind": "Reverse proxy",
    "proxy.tls": "Certificates",
    "proxy.acme_email": "ACME e-mail",
    "proxy.cert_path": "Certificate",
    "proxy.key_path": "Private key",
    "proxy.federation_port": "Federation port",
    "media.backend": "Stored on",
    "media.max_upload_mb": "Largest upload MB",
    "media.s3.bucket": "Bucket",
    "media.s3.endpoint": "Endpoint",
    "media.s3.region": "Region",
    "media.s3.access_key_id": "Access key ID",
    "calls.turn": "TURN server",
    "calls.turn_host": "TURN host",
    "calls.matrix_rtc": "Group calls",
    "calls.external_ip": "Public IP",
    "calls.rtc_tcp_port": "Media TCP port",
    "calls.rtc_udp_port": "Media UDP port",
    "auth.mas": "Authentication service",
    "registration.mode": "Registration",
    "encryption.by_default": "Encrypt by default",
    "rate_limits.preset": "Rate limits",
    "backups.enabled": "Nightly backups",
    "backups.path": "Backup folder",
    "backups.keep_days": "Keep days",
    "firewall.enabled": "Host firewall",
    "firewall.ssh_port": "SSH port",
    "monitoring.prometheus": "Prometheus",
    "monitoring.grafana": "Grafana",
    "write.out_dir": "Output folder",
    "answers": "Answers",
    "bundle": "Bundle",
}


def label(path: str) -> str:
    """Return the label of the field at path; every field's path has one."""
    return LABELS[path]


def asked_on_screen(path: str) -> bool:
    """Return whether a field on screen asks for the answer at path."""
    return path in LABELS


def label_for_problem(path: str) -> str | None:
    """Return the label of the field a problem at path concerns, the nearest one above it."""
    parts = path.split(".")
    for length in range(len(parts), 0, -1):
        found = LABELS.get(".".join(parts[:length]))
        if found is not None:
            return found
    return None


def problem_text(problem: "Problem") -> str:
    """Return a problem as the person reads it: the field's label, then what is wrong.

    A problem no field owns keeps its place in the answers file, which is where to fix it.
    """
    said = label_for_problem(problem.path) if problem.path else None
    return f"{said}: {problem.message}" if said else str(problem)
