"""A circuit breaker in front of Redis: a dead or paused Redis costs one timeout, not one
per call. The cache and the rate limiter each have one.

Closed, it lets every call through. A failure opens it for ``pause`` seconds,
during which callers skip Redis at once (a miss, or a write left owed). The
first call after the pause is the probe: success closes it, failure opens it
again. So the cache comes back by itself once Redis answers.
"""

from __future__ import annotations

import logging
import math
import time

# What the cache layer counts as Redis being out: any failure of a client call, and
# not only RedisError, OSError and TimeoutError: redis-py's cluster client has raised
# AttributeError on a connection another task dropped (seen under 50 concurrent
# requests). Every caller of Redis behind a Breaker (the cache, the rate limiter)
# catches exactly this and carries on without Redis.
OUTAGE: tuple[type[Exception], ...] = (Exception,)


class Breaker:
    def __init__(
        self,
        pause: float = 2.0,
        warn_every: float = 60.0,
        *,
        off: str = "cache off",
        meanwhile: str = "reading DynamoDB",
        log: logging.Logger | None = None,
    ) -> None:
        """``off`` and ``meanwhile`` word the warning: what stops, and what happens instead."""
        self.pause = pause
        self.warn_every = warn_every
        self._off, self._meanwhile = off, meanwhile
        self._log = log or logging.getLogger("zebros.cache")
        self._open_until = -math.inf
        self._warned_at = -math.inf
        self.opened = 0  # times it opened: a figure for metrics and tests

    def allows(self) -> bool:
        return time.monotonic() >= self._open_until

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._open_until = now + self.pause
        self.opened += 1
        if now - self._warned_at >= self.warn_every:
            self._warned_at = now
            self._log.warning(
                "%s for %.1f s: Redis did not answer (%s: %s); %s",
                self._off,
                self.pause,
                type(exc).__name__,
                exc,
                self._meanwhile,
            )

    def succeeded(self) -> None:
        self._open_until = -math.inf
