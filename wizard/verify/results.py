"""What one doctor check reports: passed, failed, or unverified, and why in a line."""

from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["passed", "failed", "unverified"]


@dataclass(frozen=True)
class DoctorResult:
    """One check of the live server: what, its status, and why."""

    check: str
    status: Status
    reason: str

    def as_json(self) -> dict[str, str]:
        """Return the result as a JSON object."""
        return asdict(self)
