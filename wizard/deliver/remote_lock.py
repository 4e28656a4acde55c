"""One upload and apply at a time per folder on a server, held by a shell that ends with SSH.

The lock step of remote-bundle.sh flocks .<name>.lock beside the target (the file a local write
to that folder locks too) and holds it until its standard input ends: when the wizard lets go,
or when the SSH session ends in any way, so a lost connection or a killed wizard never leaves
the folder locked.
"""

import getpass
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import paramiko

from wizard.deliver.bundle_lock import describe_holder, one_line
from wizard.deliver.remote import RemoteSteps, add_answer
from wizard.errors import WizardError
from wizard.ssh.connection import DEFAULT_COMMAND_TIMEOUT, SshConnection

_LAST_ANSWERS = frozenset({"locked", "unlocked", "busy", "error"})


@contextmanager
def remote_lock(connection: SshConnection, remote_dir: str) -> Iterator[tuple[str, ...]]:
    """Hold the server's lock on remote_dir for the block, yielding any notice to show.

    Raises a WizardError naming the holder when another run holds the lock. A server without
    flock is used unlocked, with a notice that says so.
    """
    steps = RemoteSteps(connection, remote_dir)
    channel = connection.open_session()
    try:
        answers = _take(steps, channel)
        if "unlocked" in answers:
            yield (
                f"{connection.target} has no flock command, so nothing keeps another run from "
                f"changing {answers['target'][0]} at the same time; install util-linux there "
                "to have it locked.",
            )
        else:
            yield ()
    finally:
        _let_go(connection, channel)


def _take(steps: RemoteSteps, channel: paramiko.Channel) -> dict[str, list[str]]:
    """Start the lock step, and return its answers once it holds the lock or cannot."""
    connection = steps.connection
    answers: dict[str, list[str]] = {}
    try:
        channel.settimeout(DEFAULT_COMMAND_TIMEOUT)
        channel.exec_command(steps.command("lock", steps.remote_dir, _who()))
        replies = channel.makefile("rb")
        while not _LAST_ANSWERS & answers.keys():
            line = replies.readline()
            if not line:
                break
            add_answer(answers, line.decode("utf-8", errors="replace").rstrip("\n"))
    except TimeoutError:
        raise WizardError(
            f"the lock step on {connection.target} did not answer within "
            f"{DEFAULT_COMMAND_TIMEOUT:g} s",
            "check the server's load, then try again",
        ) from None
    except (paramiko.SSHException, EOFError, OSError):
        if not connection.transport.is_active():
            raise connection.lost("while taking the lock") from None
        raise
    if "error" in answers:
        failed, _, reason = answers["error"][0].partition("\t")
        raise steps.failure(failed, reason, answers)
    if "busy" in answers:
        holder = describe_holder("\n".join(answers.get("holder", [])), pid_where=" on the server")
        raise WizardError(
            f"{steps.where} is locked by another run, {holder}",
            "wait for it to finish, then run the same command again",
        )
    if not {"locked", "unlocked"} & answers.keys():
        raise WizardError(
            f"the lock step on {connection.target} ended without taking the lock",
            "check that the server has a POSIX sh, then run the same command again",
        )
    return answers


def _let_go(connection: SshConnection, channel: paramiko.Channel) -> None:
    """End the lock step's input, so it deletes the lock file and lets go; wait for its end."""
    try:
        if connection.transport.is_active():
            channel.shutdown_write()
            channel.status_event.wait(connection.transport.auth_timeout)
    except (paramiko.SSHException, EOFError, OSError):
        pass
    finally:
        channel.close()


def _who() -> str:
    """Return how the lock file names this run: the command, and the user and machine it runs on."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "someone"
    return one_line(f"matrix-wizard apply from {user}@{socket.gethostname()}")
