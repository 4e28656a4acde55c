"""Textual validators wrapping wizard.answers.validators: screens and files reject as one."""

from collections.abc import Callable

from textual.validation import ValidationResult, Validator

from wizard.answers import validators
from wizard.errors import UsageError
from wizard.units import parse_size


class PureValidator(Validator):
    """Run one pure check that raises ValueError or UsageError, and report its words unchanged."""

    def __init__(self, check: Callable[[str], object], *, optional: bool = False) -> None:
        super().__init__()
        self._check = check
        self._optional = optional

    def validate(self, value: str) -> ValidationResult:
        """Return success, or a failure whose description is the pure check's message."""
        if self._optional and not value.strip():
            return self.success()
        try:
            self._check(value)
        except ValueError as error:
            return self.failure(str(error))
        except UsageError as error:
            return self.failure(str(error))
        return self.success()


def _host(text: str) -> str:
    name, _ = validators.to_ascii_hostname(text)
    return validators.check_dns_name(name)


def server_name() -> PureValidator:
    """Check a server_name against the Matrix grammar."""
    return PureValidator(validators.normalise_server_name)


def host_name(*, optional: bool = False) -> PureValidator:
    """Check a DNS host name, as the answers file does for homeserver_host and element_host."""
    return PureValidator(_host, optional=optional)


def host_address(*, optional: bool = False) -> PureValidator:
    """Check an IP address a server can own, as the answers file does for calls.external_ip."""
    return PureValidator(validators.check_host_address, optional=optional)


def email() -> PureValidator:
    """Check an e-mail address for an ACME account."""
    return PureValidator(validators.check_email)


def absolute_path(*, optional: bool = False) -> PureValidator:
    """Check an absolute path of safe characters."""
    return PureValidator(validators.check_absolute_path, optional=optional)


def bucket() -> PureValidator:
    """Check an S3 bucket name."""
    return PureValidator(validators.check_bucket)


def url() -> PureValidator:
    """Check an http(s) URL."""
    return PureValidator(validators.check_url)


def size() -> PureValidator:
    """Check a size such as 4G, as the command line reads --ram and --disk."""
    return PureValidator(parse_size)
