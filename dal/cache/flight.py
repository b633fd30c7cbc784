"""One filler per cold key: no stampede on DynamoDB when many ask at once.

In this process, callers of the same key share one future. Across processes,
the first takes a short lock in Redis; the others poll the key for the value
it fills, and compute it themselves only if it has not come within the wait
(the filler died, or Redis is gone: never wait on a cache to answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dal.cache.client import MISSING, Cache

T = TypeVar("T")
LOCK_TTL_S = 2.0
POLL_S = 0.02
POLLS = 75  # up to 1.5 s behind another process's filler (its lock lives 2 s)


class Flight:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._running: dict[str, asyncio.Task[Any]] = {}

    async def aclose(self) -> None:
        """Wait for the fills under way (they outlive a cancelled caller) before the
        client they use closes: a fill after the close would leak a connection."""
        running = list(self._running.values())
        if running:
            await asyncio.wait(running)

    async def run(
        self,
        key: str,
        compute: Callable[[], Awaitable[T]],
        reread: Callable[[], Awaitable[Any]],
    ) -> T:
        """``compute()`` (which fills ``key``) once for all concurrent callers of ``key``;
        ``reread()`` gives the value another process filled, or MISSING.

        The computation is a task of the flight's, not of the first caller: a caller
        cancelled (its client gone) cancels only its own wait, never the others'."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(self._lead(key, compute, reread))
            self._running[key] = task
            task.add_done_callback(lambda done: self._landed(key, done))
        result: T = await asyncio.shield(task)
        return result

    def _landed(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: its callers saw it; no "never retrieved" noise

    async def _lead(
        self, key: str, compute: Callable[[], Awaitable[T]], reread: Callable[[], Awaitable[Any]]
    ) -> T:
        token = await self.cache.lock(key, LOCK_TTL_S)
        if isinstance(token, str):
            try:
                return await compute()
            finally:
                await self.cache.unlock(key, token)
        if token is False:  # another process fills it
            for _ in range(POLLS):
                await asyncio.sleep(POLL_S)
                found = await reread()
                if found is not MISSING:
                    return found  # type: ignore[no-any-return]
                if not await self.cache.locked(key):
                    break  # it finished without a value (nothing to keep, or it failed)
        return await compute()
