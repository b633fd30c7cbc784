"""The one retry pause of the DAL: full-jitter, capped, exponential.

A pause drawn uniformly from [0, min(cap, base * 2**attempt)]: callers that failed
together (throttled batches, conflicting transactions) spread out instead of
colliding again in step. botocore's ``ExponentialBackoff`` has the same shape but
a fixed one-second base (our pauses start at milliseconds), and no retry library
is a dependency: one line of arithmetic does not need one.
"""

from __future__ import annotations

import asyncio
import math
import random


def pause(attempt: int, base: float, cap: float = math.inf) -> float:
    """Seconds to wait after failed attempt ``attempt`` (0 for the first)."""
    return random.uniform(0, min(cap, base * 2**attempt))


async def jittered_sleep(attempt: int, base: float, cap: float = math.inf) -> None:
    await asyncio.sleep(pause(attempt, base, cap))
