"""Read a Synapse process's own Prometheus metrics: which servlets it served, what it persisted."""

import re

from wizard.bundle.worker_layout import Role, Worker

REQUESTS = "synapse_http_server_requests_received_total"
PERSISTED = "synapse_storage_events_persisted_events_total"
MAIN = "main"
# What each role must have served, by Synapse's servlet names, and the main process none of.
SERVED_BY = {
    Role.SYNC: ("SyncRestServlet",),
    Role.CLIENT_READER: ("RoomMessageListRestServlet", "LoginRestServlet"),
    Role.MEDIA: ("UploadServlet", "DownloadResource"),
    Role.FEDERATION_READER: ("FederationVersionServlet",),
}
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Return each sample of one metric in Prometheus's text format, with its labels."""
    found = []
    for line in text.splitlines():
        matched = _SAMPLE.match(line)
        if matched and matched["name"] == name:
            labels = dict(_LABEL.findall(matched["labels"] or ""))
            found.append((labels, float(matched["value"])))
    return found


def served(text: str) -> dict[str, float]:
    """Return how many requests the process received, by servlet."""
    counts: dict[str, float] = {}
    for labels, value in samples(text, REQUESTS):
        servlet = labels.get("servlet", "")
        counts[servlet] = counts.get(servlet, 0) + value
    return counts


def persisted(text: str) -> float:
    """Return how many events the process wrote to the database."""
    return sum(value for _, value in samples(text, PERSISTED))


def check_roles(workers: tuple[Worker, ...], texts: dict[str, str], where: str) -> None:
    """Assert each role's first worker served its requests and the main process none of them.

    texts holds each process's metrics text by worker name, the main process's under MAIN.
    """
    main = served(texts[MAIN])
    for role, servlets in SERVED_BY.items():
        worker = next(worker for worker in workers if worker.role is role)
        done = served(texts[worker.name])
        for servlet in servlets:
            assert done.get(servlet, 0) > 0, (where, worker.name, servlet, done)
            assert main.get(servlet, 0) == 0, (where, MAIN, servlet, main)
    persister = next(worker for worker in workers if worker.role is Role.EVENT_PERSISTER)
    assert persisted(texts[persister.name]) > 0, (where, persister.name, "persisted no event")
    assert persisted(texts[MAIN]) == 0, (where, MAIN, "persisted events")
