"""The individual-record layer (the architecture's "individual customer cache").

Read-through for a loader's batch: one MGET, the misses from DynamoDB in one
batch get, filled in one pipeline. Entries carry the record's version and a
fill lands only over an older one, so a reader that read before a write can
never put back what the write replaced (writes put the new record through,
``invalidation.py``). A deleted record is kept as a tombstone until its TTL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from dal.cache.client import MISSING, Version
from dal.cache.keys import digest
from dal.cache.session import CacheSession
from dal.models import Record

R = TypeVar("R", bound=Record)


def version_of(record: Record, bump: int = 0) -> Version:
    """(incarnation, version): what VERSIONED_SET compares."""
    return int(record.created_at.timestamp() * 1_000_000), record.version + bump


class Source(Protocol[R]):
    async def get_many(self, wanted: Sequence[str]) -> list[R | None]: ...


class CachedRecords(Generic[R]):
    def __init__(
        self, session: CacheSession, source: Source[R], entity: str, layer: str, ttl_s: float
    ) -> None:
        self.session, self.source = session, source
        self.entity, self.layer, self.ttl_s = entity, layer, ttl_s

    async def get_many(self, wanted: Sequence[str]) -> list[R | None]:
        """One value per id, in order, None where missing; a hit costs no DynamoDB read."""
        generations = await self.session.generations()
        if generations is None:
            return await self.source.get_many(wanted)
        who, cache = self.session.who, self.session.cache
        keys = [cache.keys.record(who.tenant, generations.epoch, self.entity, i) for i in wanted]
        found = await cache.get_many(self.layer, keys)
        cold = [n for n, value in enumerate(found) if value is MISSING]
        if cold:
            filled = await self._fill([wanted[n] for n in cold], [keys[n] for n in cold])
            for n, value in zip(cold, filled, strict=True):
                found[n] = value
        return list(found)

    def keep(self, records: Sequence[R]) -> None:
        """Records read another way (a list page): into the layer, with the request's fills."""
        generations = self.session.known_generations
        if generations is None:
            return
        who, keys = self.session.who, self.session.cache.keys
        for r in records:
            key = keys.record(who.tenant, generations.epoch, self.entity, r.id)
            self.session.fill_version(self.layer, key, version_of(r), r, self.ttl_s)

    async def _fill(self, ids: list[str], keys: list[str]) -> list[R | None]:
        cache = self.session.cache

        async def compute() -> list[R | None]:
            records = await self.source.get_many(ids)
            entries = [(k, version_of(r), r) for k, r in zip(keys, records, strict=True) if r]
            await cache.put_versions(self.layer, entries, self.ttl_s)
            return records

        async def reread() -> object:
            again = await cache.get_many(self.layer, keys)
            return MISSING if any(v is MISSING for v in again) else again

        # Named after its first key: the lock shares the tenant's hash slot.
        name = f"{keys[0]}:batch:{digest(sorted(keys))}"
        return await self.session.flight.run(name, compute, reread)
