"""The remote mode's SSH session: connect with paramiko, probe the machine, upload and apply."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from screens.remote import HostKey, HostKeyQuestion, LineSink, RemoteTarget, SecretQuestion
from wizard.errors import WizardError
from wizard.ssh.timeouts import Timeouts
from wizard.units import counted

if TYPE_CHECKING:
    from wizard.probe.facts import HostFacts
    from wizard.ssh.connection import HostKeyQuestion as SshHostKeyQuestion
    from wizard.ssh.connection import SshConnection

DEFAULT_DATA_PATH = "/var/lib"


class LineSplitter:
    """Turns pieces of output, from stdout and stderr, into whole lines for a LineSink."""

    def __init__(self, on_line: LineSink) -> None:
        self.on_line = on_line
        self.pending: dict[str, str] = {}

    def __call__(self, stream: str, text: str) -> None:
        """Take one piece of a stream's output, passing on every line it completes."""
        *lines, rest = (self.pending.get(stream, "") + text).split("\n")
        self.pending[stream] = rest
        for line in lines:
            self.on_line(line)

    def finish(self) -> None:
        """Pass on what is left of each stream's last line."""
        for rest in self.pending.values():
            if rest:
                self.on_line(rest)
        self.pending.clear()


@dataclass
class SshSession:
    """A RemoteSession over the wizard's SSH module, for one machine at a time."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    ssh_dir: Path | None = None
    use_agent: bool = True
    remote_dir: str | None = None
    data_path: str = DEFAULT_DATA_PATH
    connection: "SshConnection | None" = None

    def connect(
        self, target: RemoteTarget, on_unknown_key: HostKeyQuestion, on_secret: SecretQuestion
    ) -> "HostFacts":
        """Connect, asking about an unknown host key and for any secret; return the facts."""
        from wizard.probe.remote_snapshot import probe_ssh
        from wizard.ssh.connection import ConnectOptions
        from wizard.ssh.connection import connect as ssh_connect
        from wizard.ssh.target import resolve_target

        self.close()
        text = f"{target.user}@{target.host}" if target.user else target.host
        identity = Path(target.key_file).expanduser() if target.key_file else None
        resolved = resolve_target(text, port=target.port, identity=identity, ssh_dir=self.ssh_dir)

        def confirm(question: "SshHostKeyQuestion") -> bool:
            return on_unknown_key(HostKey(question.target, question.key_type, question.fingerprint))

        options = ConnectOptions(
            timeouts=self.timeouts,
            confirm_host_key=confirm,
            ask_secret=on_secret,
            use_agent=self.use_agent,
        )
        self.connection = ssh_connect(resolved, options)
        return probe_ssh(self.connection, self.data_path)

    def upload_and_apply(self, bundle_dir: Path, on_line: LineSink, *, dry_run: bool) -> int:
        """Upload under the server's lock, run apply.sh (or with --dry-run); return its status."""
        from wizard.deliver.remote import apply_command, read_local_bundle, run_apply, upload_bundle
        from wizard.deliver.remote_lock import remote_lock

        connection = self._connected()
        bundle = read_local_bundle(bundle_dir)
        remote_dir = self.remote_dir or f"~/{bundle.folder.resolve().name}"
        with remote_lock(connection, remote_dir) as lock_notices:
            for notice in lock_notices:
                on_line(notice)
            result = upload_bundle(connection, bundle, remote_dir)
            where = f"{connection.target}:{result.state.target}"
            on_line(f"Uploaded {counted(len(bundle.files), 'file')} to {where}.")
            for notice in result.notices:
                on_line(notice)
            splitter = LineSplitter(on_line)
            if dry_run:
                command = apply_command(result.state, dry_run=True)
                status = connection.stream(command, splitter, what="apply.sh --dry-run")
            else:
                status = run_apply(connection, result.state, splitter)
            splitter.finish()
        return status

    def close(self) -> None:
        """Close the connection; safe to call more than once."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _connected(self) -> "SshConnection":
        """Return the open connection, or say to connect first."""
        if self.connection is None or not self.connection.transport.is_active():
            raise WizardError(
                "not connected to the machine", "go back to the Machine step and connect"
            )
        return self.connection
