"""A circuit breaker for the cache: a dead or paused Redis costs one timeout, not one per call.

Closed, it lets every call through. A failure opens it for ``pause`` seconds,
during which callers skip Redis at once (a miss, or a write left owed). The
first call after the pause is the probe: success closes it, failure opens it
again. So the cache comes back by itself once Redis answers.
"""

from __future__ import annotations

import logging
import math
import time

log = logging.getLogger("zebros.cache")


class Breaker:
    def __init__(self, pause: float = 2.0, warn_every: float = 60.0) -> None:
        self.pause = pause
        self.warn_every = warn_every
        self._open_until = -math.inf
        self._warned_at = -math.inf
        self.opened = 0  # times it opened: a figure for metrics and tests

    def allows(self) -> bool:
        return time.monotonic() >= self._open_until

    @property
    def is_open(self) -> bool:
        return not self.allows()

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._open_until = now + self.pause
        self.opened += 1
        if now - self._warned_at >= self.warn_every:
            self._warned_at = now
            log.warning(
                "cache off for %.1f s: Redis did not answer (%s: %s); reading DynamoDB",
                self.pause,
                type(exc).__name__,
                exc,
            )

    def succeeded(self) -> None:
        self._open_until = -math.inf
