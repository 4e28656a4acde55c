"""When the wizard's memory is freed: what is set aside from garbage collection, and when."""

import gc

from textual._styles_cache import StylesCache


def set_aside_what_is_loaded() -> None:
    """Collect garbage, then set every object made so far aside from later collections.

    Nearly all of them are kept for good (modules, classes, styles); a full collection walking
    them all would otherwise stall a later step change by tens of milliseconds.
    """
    gc.collect()
    gc.freeze()


def free_panes_let_go() -> None:
    """Free the memory of the step panes let go since the last call.

    Widgets refer to one another in cycles, which only a full collection frees, and Python
    runs one rarely; until then every pane let go would add to the wizard's peak memory.
    Textual's cache of background styles is emptied first: it holds on to the last thousand
    widgets it has drawn, with their rendered lines, whether or not they are still on screen.
    """
    StylesCache.get_inner_outer.cache_clear()
    gc.collect()


def collect_as_usual() -> None:
    """Let Python collect every object again, as before the wizard set any aside."""
    gc.unfreeze()
