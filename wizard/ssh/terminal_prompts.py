"""Ask the person at the terminal: accept an unknown SSH host key, or type a secret."""

import getpass
import sys

from wizard.ssh.connection import HostKeyQuestion


def _interactive() -> bool:
    """Return whether a person can answer: standard input and error are a terminal."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm_host_key(question: HostKeyQuestion) -> bool:
    """Show an unknown host key's fingerprint and accept it only if the person says so."""
    if not _interactive():
        return False
    lines = [
        f"The host key of {question.target} is not known yet.",
        f"  {question.key_type} key fingerprint: {question.fingerprint}",
    ]
    if question.other_known_types:
        lines.append(
            f"  (keys of other types are known for it: {', '.join(question.other_known_types)})"
        )
    lines.append("Compare it with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_*.pub there).")
    sys.stderr.write("\n".join(lines) + "\nAccept and remember it? Type yes or the fingerprint: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip()
    return answer in ("yes", question.fingerprint)


def ask_secret(prompt: str) -> str | None:
    """Ask for a passphrase or password without echoing it; None when no one can answer."""
    if not _interactive():
        return None
    try:
        return getpass.getpass(prompt, stream=sys.stderr)
    except EOFError:
        return None
