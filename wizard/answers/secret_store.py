"""Secrets: created once with `secrets`, kept in one 0600 file in the bundle, reused on re-runs."""

import base64
import secrets
import string
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wizard import yaml_input
from wizard.errors import UsageError, WizardError

SECRETS_FILE = "secrets.yaml"
_DAMAGED_HINT = (
    "restore it from a backup, or move it away to make new secrets "
    "(the homeserver's signing key and passwords then change)"
)
_ALPHABET = string.ascii_letters + string.digits


def _token(length: int = 48) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _seed() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key_id() -> str:
    return "a_" + "".join(secrets.choice(_ALPHABET) for _ in range(4))


def _hex_key() -> str:
    return secrets.token_hex(32)


def _rsa_key() -> str:
    """Return a new 2048-bit RSA private key as unencrypted PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


class Secrets(BaseModel):
    """Every secret a bundle needs; each is made when first missing and never changed after."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_password: str = Field(default_factory=_token)
    # The bundled compose PostgreSQL's own superuser; the homeserver's role is no superuser.
    postgres_superuser_password: str = Field(default_factory=_token)
    registration_shared_secret: str = Field(default_factory=_token)
    macaroon_secret_key: str = Field(default_factory=_token)
    form_secret: str = Field(default_factory=_token)
    turn_shared_secret: str = Field(default_factory=_token)
    # LiveKit's API key pair: lk-jwt-service signs call tokens with it, LiveKit its webhooks.
    livekit_api_key: str = Field(default_factory=lambda: "API" + _token(12))
    livekit_api_secret: str = Field(default_factory=_token)
    metrics_password: str = Field(default_factory=_token)
    worker_replication_secret: str = Field(default_factory=_token)
    grafana_admin_password: str = Field(default_factory=_token)
    signing_key_id: str = Field(default_factory=_key_id, pattern=r"^a_[A-Za-z0-9]{4}$")
    signing_key_seed: str = Field(default_factory=_seed, description="base64 of 32 random bytes")
    s3_secret_access_key: str = ""
    # Matrix Authentication Service: its database role, the secret Synapse and MAS share, the
    # key of its cookies and encrypted columns (32 bytes, hex), and its RSA signing key.
    mas_database_password: str = Field(default_factory=_token)
    mas_shared_secret: str = Field(default_factory=_token)
    mas_encryption_key: str = Field(default_factory=_hex_key, pattern=r"^[0-9a-f]{64}$")
    mas_signing_key: str = Field(default_factory=_rsa_key)

    def values(self) -> list[str]:
        """Return every non-empty secret value, to keep them out of anything shown."""
        return [value for value in self.model_dump().values() if value]


def secrets_text(store: Secrets) -> str:
    """Return the secrets file's text."""
    header = "# matrix-wizard secrets: keep this file private (mode 0600); never share it\n"
    return header + yaml.safe_dump(store.model_dump(), sort_keys=True)


def load_secrets(bundle_dir: Path) -> Secrets:
    """Return the bundle's secrets, creating any that are missing; nothing is written here."""
    path = bundle_dir / SECRETS_FILE
    if not path.exists():
        return Secrets()
    try:
        data = yaml_input.parse(yaml_input.read_text(path), str(path)) or {}
        return Secrets.model_validate(data)
    except UsageError as refused:
        raise WizardError(refused.message, _DAMAGED_HINT) from None
    except (OSError, yaml.YAMLError, ValidationError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not a valid secrets file"
        raise WizardError(f"cannot read {path}: {reason}", _DAMAGED_HINT) from None


def redact(text: str, store: Secrets) -> str:
    """Return text with every secret value replaced by a marker."""
    for value in sorted(store.values(), key=len, reverse=True):
        text = text.replace(value, "<secret>")
    return text
