"""How much memory a homeserver's caches and pools may plan with: the machine's, else its tier's."""

from wizard.answers import Homeserver, Tier
from wizard.bundle.context import RenderContext
from wizard.units import GIB, MIB

# The RAM rows of the tier tables in homeservers-overview.md. Conduit has no production column
# there, so its production tier plans with its recommended RAM.
TIER_RAM: dict[Homeserver, dict[Tier, int]] = {
    Homeserver.SYNAPSE: {
        Tier.MINIMUM: 1 * GIB,
        Tier.RECOMMENDED: 4 * GIB,
        Tier.PRODUCTION: 8 * GIB,
    },
    Homeserver.DENDRITE: {
        Tier.MINIMUM: 512 * MIB,
        Tier.RECOMMENDED: 2 * GIB,
        Tier.PRODUCTION: 4 * GIB,
    },
    Homeserver.CONDUIT: {
        Tier.MINIMUM: 256 * MIB,
        Tier.RECOMMENDED: 1 * GIB,
        Tier.PRODUCTION: 1 * GIB,
    },
}


def planned_ram(ctx: RenderContext) -> int:
    """Return the RAM to size for: what the machine offers when known, else the tier's RAM."""
    if ctx.facts is not None and ctx.facts.effective_ram:
        return ctx.facts.effective_ram
    return TIER_RAM[ctx.homeserver][ctx.answers.homeserver.tier]
