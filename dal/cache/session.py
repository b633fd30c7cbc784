"""One request's view of the cache.

The tenant's generations are read once (or handed over by the response cache,
which read them already); field reads of one tick are one MGET; records a
list page brought are kept in one pipeline per tick, and ``drain`` waits for
them before the response leaves, so the next request finds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiodataloader import DataLoader

from dal.cache.client import MISSING, Cache, Version
from dal.cache.flight import Flight
from dal.cache.generations import Generations


@dataclass(frozen=True, slots=True)
class Who:
    """What a key may vary by: the tenant always, the role or user where declared."""

    tenant: str
    role: str
    user: str


class _Values(DataLoader[tuple[str, str], Any]):
    def __init__(self, cache: Cache) -> None:
        super().__init__(cache=False)  # a request reads a key more than once only after filling
        self._store = cache

    async def batch_load_fn(self, keys: Sequence[tuple[str, str]]) -> list[Any]:
        """One MGET for the tick, counted per layer."""
        values = await self._store.get_many("fields", [key for _, key in keys], count=False)
        for (layer, _), value in zip(keys, values, strict=True):
            self._store.stats.add(layer, "miss" if value is MISSING else "hit")
        return list(values)


class CacheSession:
    def __init__(
        self, cache: Cache, flight: Flight, who: Who, generations: Generations | None = None
    ) -> None:
        self.cache, self.flight, self.who = cache, flight, who
        self._generations = generations
        self._read = generations is not None
        self._values = _Values(cache)
        self._versions: list[tuple[str, str, Version, Any, float]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def generations(self) -> Generations | None:
        async with self._lock:
            if not self._read:
                self._generations = await self.cache.generations(self.who.tenant)
                self._read = True
        return self._generations

    async def get(self, layer: str, key: str) -> Any:
        return await self._values.load((layer, key))

    @property
    def known_generations(self) -> Generations | None:
        """The generations if already read (no I/O: for code that cannot await)."""
        return self._generations

    def fill_version(
        self, layer: str, key: str, version: Version, value: Any, ttl_s: float
    ) -> None:
        self._versions.append((layer, key, version, value, ttl_s))
        self._schedule()

    def _schedule(self) -> None:
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the rest of the tick queue its fills
        while self._versions:
            versions, self._versions = self._versions, []
            for (layer, ttl), entries in _grouped(
                ((v[0], v[4]), (v[1], v[2], v[3])) for v in versions
            ).items():
                await self.cache.put_versions(layer, entries, ttl)

    async def drain(self) -> None:
        if self._flushing is not None:
            await self._flushing


def _grouped(pairs: Iterable[tuple[tuple[str, float], Any]]) -> dict[tuple[str, float], list[Any]]:
    """Entries by (layer, TTL): one pipeline each."""
    out: dict[tuple[str, float], list[Any]] = {}
    for group, entry in pairs:
        out.setdefault(group, []).append(entry)
    return out
