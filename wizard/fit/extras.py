"""What the extras add to a tier's hardware: LiveKit and lk-jwt-service for MatrixRTC calls."""

from wizard.fit.tiers import NO_EXTRA, ExtraLoad
from wizard.units import MIB

# LiveKit v1.13.5 idles at about 50 MB (measured on loopback); a call adds a few MB for each
# participant and CPU for each stream it forwards, so the production tier, which serves the
# most people, gets a core of its own for it. lk-jwt-service is a small token service.
LIVEKIT_RAM = 256 * MIB
LK_JWT_SERVICE_RAM = 32 * MIB
MATRIX_RTC_LOAD = ExtraLoad(ram=LIVEKIT_RAM + LK_JWT_SERVICE_RAM, cores={"production": 1})


def extra_load(matrix_rtc: bool) -> ExtraLoad:
    """Return what the chosen extras need beside the homeserver: calls' services, or nothing."""
    return MATRIX_RTC_LOAD if matrix_rtc else NO_EXTRA
