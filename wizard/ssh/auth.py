"""Log in over an SSH transport as ssh does: agent keys, then key files, then a password.

Each way tried is noted with why it failed, so a refusal lists them all. Passphrases and the
password are asked through a callback, when one is given, and are never kept or shown.
"""

from collections.abc import Callable
from functools import partial
from pathlib import Path

import paramiko

from wizard.errors import WizardError
from wizard.ssh.target import SshTarget

AskSecret = Callable[[str], str | None]
"""Asks the person for a secret, given a prompt; None when no one can be asked."""


class _LoginLog:
    """The ways tried so far, why each failed, and what the server allows."""

    def __init__(self, transport: paramiko.Transport, target: SshTarget) -> None:
        self.transport = transport
        self.target = target
        self.tried: list[str] = []
        self.allowed: list[str] | None = None
        self.offered: set[bytes] = set()

    def allows(self, method: str) -> bool:
        """Return False once the server has said it does not take this method."""
        return self.allowed is None or method in self.allowed

    def attempt(self, what: str, method: str, login: Callable[[], list[str]]) -> bool:
        """Try one way in; return True once logged in, else note why it failed."""
        try:
            remaining = login()
        except paramiko.BadAuthenticationType as error:
            self.allowed = list(error.allowed_types)
            self.tried.append(f"{what}: the server does not take {method} ({self._allowed()})")
            return False
        except paramiko.AuthenticationException as error:
            text = str(error)
            reason = "no answer in time" if "timeout" in text.lower() else "refused by the server"
            self.tried.append(f"{what}: {reason}")
            return False
        except (paramiko.SSHException, EOFError, OSError) as error:
            if not self.transport.is_active():
                raise WizardError(
                    f"{self.target} closed the connection while logging in ({what})",
                    "check the server's logs (MaxAuthTries, fail2ban) and try again",
                ) from None
            self.tried.append(f"{what}: {error}")
            return False
        if self.transport.is_authenticated():
            return True
        self.allowed = list(remaining)
        self.tried.append(f"{what}: accepted, but the server also wants {', '.join(remaining)}")
        return False

    def _allowed(self) -> str:
        return f"it takes: {', '.join(self.allowed)}" if self.allowed else "it takes none"


def _describe(key: paramiko.PKey) -> str:
    """Return a key's type and fingerprint, as ssh-keygen -l shows them."""
    return f"{key.algorithm_name} {key.fingerprint}"


def _agent_keys(log: _LoginLog) -> list[paramiko.PKey]:
    """Return the keys the SSH agent holds, noting why when it cannot be asked."""
    try:
        agent = paramiko.Agent()
        return list(agent.get_keys())
    except (paramiko.SSHException, OSError) as error:
        log.tried.append(f"agent: cannot be asked ({error})")
        return []


def load_key(path: Path, ask_secret: AskSecret | None) -> tuple[paramiko.PKey | None, str]:
    """Return a private key from a file, asking for its passphrase if needed, or why not."""
    try:
        return paramiko.PKey.from_path(path), ""
    except FileNotFoundError:
        return None, "does not exist"
    except PermissionError:
        return None, "cannot be read: permission denied"
    except (paramiko.PasswordRequiredException, TypeError):
        pass
    except (paramiko.SSHException, ValueError) as error:
        return None, f"is not a private key that can be used ({error})"
    if ask_secret is None:
        return None, "is protected by a passphrase and there is no terminal to ask for it"
    passphrase = ask_secret(f"Passphrase for the key {path}: ")
    if not passphrase:
        return None, "is protected by a passphrase and none was given"
    try:
        # The stubs say str, but the key loader underneath takes only bytes.
        secret: str = passphrase.encode("utf-8")  # type: ignore[assignment]
        return paramiko.PKey.from_path(path, secret), ""
    except (paramiko.SSHException, ValueError, TypeError):
        return None, "wrong passphrase"


def _try_keys(log: _LoginLog, ask_secret: AskSecret | None, use_agent: bool) -> bool:
    """Try the agent's keys, then each key file; return True once logged in."""
    user = log.target.user
    candidates: list[tuple[str, paramiko.PKey | None, str]] = []
    if use_agent:
        candidates.extend((f"agent key {_describe(key)}", key, "") for key in _agent_keys(log))
    for index, path in enumerate(log.target.identity_files):
        if not log.allows("publickey"):
            log.tried.extend(
                f"key file {rest}: not tried" for rest in log.target.identity_files[index:]
            )
            break
        key, why = load_key(path, ask_secret)
        candidates.append((f"key file {path}" + (f" ({_describe(key)})" if key else ""), key, why))
    for what, key, why in candidates:
        if key is None:
            log.tried.append(f"{what}: {why}")
            continue
        if key.asbytes() in log.offered or not log.allows("publickey"):
            continue
        log.offered.add(key.asbytes())
        if log.attempt(what, "publickey", partial(log.transport.auth_publickey, user, key)):
            return True
    return False


def authenticate(
    transport: paramiko.Transport,
    target: SshTarget,
    ask_secret: AskSecret | None,
    *,
    use_agent: bool = True,
) -> None:
    """Log in as target.user, or raise WizardError listing every way tried and why it failed."""
    log = _LoginLog(transport, target)
    if _try_keys(log, ask_secret, use_agent):
        return
    if not log.allows("password") and not log.allows("keyboard-interactive"):
        log.tried.append("password: not tried, the server does not take passwords")
    elif ask_secret is None:
        log.tried.append("password: not asked, there is no terminal to ask on")
    else:
        password = ask_secret(f"Password for {target}: ")
        if not password:
            log.tried.append("password: none given")
        elif log.attempt(
            "password", "password", partial(transport.auth_password, target.user, password)
        ):
            return
    raise WizardError(
        f"cannot log in to {target}: every way was refused",
        "check the user name, add your public key to the server's ~/.ssh/authorized_keys, "
        "or give the key with --identity",
        details=log.tried or ["no key and no password to try"],
    )
