"""What the extras add to a tier's hardware: MatrixRTC's services, and MAS beside Synapse."""

from wizard.fit.tiers import ExtraLoad
from wizard.units import MIB

# LiveKit v1.13.5 idles at about 50 MB (measured on loopback); a call adds a few MB for each
# participant and CPU for each stream it forwards, so the production tier, which serves the
# most people, gets a core of its own for it. lk-jwt-service is a small token service.
LIVEKIT_RAM = 256 * MIB
LK_JWT_SERVICE_RAM = 32 * MIB
MATRIX_RTC_LOAD = ExtraLoad(ram=LIVEKIT_RAM + LK_JWT_SERVICE_RAM, cores={"production": 1})
# The Matrix Authentication Service beside Synapse: an estimate for one small Rust server process
# with its database pool (not measured here: MAS cannot run on this project's machines).
MAS_RAM = 256 * MIB


def extra_load(homeserver: str, *, matrix_rtc: bool, mas: bool) -> ExtraLoad:
    """Return what the chosen extras need beside the homeserver: calls, and MAS for Synapse."""
    ram = MATRIX_RTC_LOAD.ram if matrix_rtc else 0
    if mas and homeserver == "synapse":
        ram += MAS_RAM
    return ExtraLoad(ram=ram, cores=dict(MATRIX_RTC_LOAD.cores) if matrix_rtc else {})
