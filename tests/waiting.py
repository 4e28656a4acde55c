"""Wait for the state a test needs, never for a fixed time: poll until it holds, within a limit.

The limit is generous, for a loaded 2-core machine: a state that has not come by then is taken
as one that never will, and the failure says which.
"""

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

LIMIT = 60.0
POLL = 0.02

Result = TypeVar("Result")


def wait_until(
    condition: Callable[[], Result | None], what: str, *, limit: float = LIMIT
) -> Result:
    """Poll the condition until it returns something true, and return that."""
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {limit:.0f} s for {what}")
        time.sleep(POLL)


async def eventually(
    condition: Callable[[], Result | None], what: str, *, limit: float = LIMIT
) -> Result:
    """Let the event loop run until the condition returns something true, and return that."""
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {limit:.0f} s for {what}")
        await asyncio.sleep(POLL)
