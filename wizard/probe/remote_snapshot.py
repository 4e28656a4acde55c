"""Probe a machine over SSH: run assets/probe.sh on one exec channel and read its stream back.

The stream becomes a ProbeSnapshot, so HostFacts are built by the same code (and the same
parsers) as for this machine and for the recorded fixtures.
"""

import posixpath
import secrets
import shlex
from dataclasses import dataclass

from wizard.errors import UsageError, WizardError
from wizard.paths import asset
from wizard.probe.assemble import facts_from_snapshot
from wizard.probe.facts import HostFacts
from wizard.probe.snapshot import ProbeSnapshot, df_command
from wizard.ssh.connection import SshConnection

PROBE_SCRIPT = "probe.sh"
STREAM_FORMAT = "1"
PROBE_TIMEOUT = 60.0
_DATA_PATH_HINT = "give a folder that exists on the server, with --data-path"


@dataclass(frozen=True)
class ProbeStream:
    """What probe.sh printed: the snapshot, and the data path it judged."""

    snapshot: ProbeSnapshot
    requested: str
    existing: str
    found: bool


def new_mark() -> str:
    """Return a fresh random word that starts each record of one probe's stream."""
    return "mw" + secrets.token_hex(10)


def probe_command(data_path: str, mark: str) -> str:
    """Return the command that runs probe.sh, given inline, so one exec channel is enough."""
    script = asset(PROBE_SCRIPT).read_text(encoding="utf-8")
    if data_path.startswith("/"):
        data_path = posixpath.normpath(data_path)
    return " ".join(
        ["sh", "-c", shlex.quote(script), PROBE_SCRIPT, shlex.quote(mark), shlex.quote(data_path)]
    )


class _StreamReader:
    """Walks the records of one stream, filling a snapshot."""

    def __init__(self, data: bytes, mark: str) -> None:
        self.data = data
        self.head = mark.encode("ascii") + b"\t"
        self.end = b"\n" + mark.encode("ascii") + b"\tEND\n"
        self.snapshot = ProbeSnapshot()
        self.version: str | None = None
        self.place: tuple[str, str, bool] | None = None
        self.refusal: str | None = None

    def read(self) -> None:
        """Read every record; lines that are not records (a login banner) are skipped."""
        position = 0
        while position < len(self.data):
            line_end = self.data.find(b"\n", position)
            if line_end < 0:
                line_end = len(self.data)
            line = self.data[position:line_end]
            position = line_end + 1
            if not line.startswith(self.head):
                continue
            fields = line[len(self.head) :].decode("utf-8", errors="replace").split("\t")
            if fields[0] == "F" and len(fields) >= 2:
                position = self._file(fields[1], position)
            else:
                self._record(fields)

    def _file(self, path: str, start: int) -> int:
        stop = self.data.find(self.end, start)
        if stop < 0:
            raise WizardError(
                f"the probe's output stops in the middle of {path}",
                "the connection or the probe was cut short: run it again",
            )
        self.snapshot.files[path] = self.data[start:stop].decode("utf-8", errors="replace")
        return stop + len(self.end)

    def _record(self, fields: list[str]) -> None:
        kind, values = fields[0], fields[1:]
        snapshot = self.snapshot
        if kind == "V" and values:
            self.version = values[0]
        elif kind == "W" and len(values) >= 3:
            self.place = (values[0], values[1], values[2] == "1")
        elif kind == "X" and values:
            self.refusal = values[0]
        elif kind == "E" and len(values) >= 2:
            snapshot.files.pop(values[0], None)
            snapshot.errors[values[0]] = values[1]
        elif kind == "L" and len(values) >= 2:
            snapshot.links[values[0]] = values[1]
        elif kind == "D" and len(values) >= 2:
            snapshot.dirs.setdefault(values[0], []).append(values[1])
        elif kind == "P" and values:
            snapshot.present.add(values[0])
        elif kind == "C" and len(values) >= 2:
            snapshot.commands[values[0]] = values[1]


def parse_probe_stream(data: bytes, mark: str, *, data_path: str = "") -> ProbeStream:
    """Return the snapshot and data path in probe.sh's output, or raise saying what is wrong."""
    reader = _StreamReader(data, mark)
    reader.read()
    if reader.refusal is not None:
        raise UsageError(f"data path {data_path} {reader.refusal}", _DATA_PATH_HINT)
    if reader.version != STREAM_FORMAT or reader.place is None:
        raise WizardError(
            "the probe printed nothing the wizard can read",
            "check that the remote login shell is a POSIX shell (sh, bash, dash, zsh, ash)",
        )
    requested, existing, found = reader.place
    snapshot = reader.snapshot
    raw_df = f"df -Pk {existing}"
    if raw_df in snapshot.commands:
        snapshot.commands[df_command(existing)] = snapshot.commands.pop(raw_df)
    return ProbeStream(snapshot, requested, existing, found)


def facts_from_stream(stream: ProbeStream) -> HostFacts:
    """Return the HostFacts of a probed machine, noting when the data path does not exist yet."""
    facts = facts_from_snapshot(stream.snapshot, stream.existing, source="ssh")
    unknown = dict(facts.unknown)
    disk = facts.disk.model_copy(update={"path": stream.requested})
    if not stream.found:
        note = (
            f"{stream.requested} does not exist yet: sizes and kind are those of {stream.existing}"
        )
        unknown["disk.path"] = note
        disk = disk.model_copy(update={"kind_reason": f"{disk.kind_reason} ({note})"})
    return facts.model_copy(update={"disk": disk, "unknown": unknown})


def probe_ssh(connection: SshConnection, data_path: str = "/var/lib") -> HostFacts:
    """Return the HostFacts of the machine at the other end, from one exec channel."""
    if not data_path.strip():
        raise UsageError("the data path is empty", _DATA_PATH_HINT)
    mark = new_mark()
    result = connection.run(probe_command(data_path, mark), timeout=PROBE_TIMEOUT, what="the probe")
    try:
        stream = parse_probe_stream(result.stdout, mark, data_path=data_path)
    except WizardError as error:
        said = result.stderr.decode("utf-8", errors="replace").strip().splitlines()[-3:]
        error.details.extend(f"the server said: {line}" for line in said)
        raise
    return facts_from_stream(stream)
