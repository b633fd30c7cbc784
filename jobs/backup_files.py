"""The files of a backup, streamed: an entity's records read a page at a time from the
tenant index and written a part at a time (``dal.storage.stream``), checksummed as
they go, so neither a backup nor its verification holds a tenant in memory.

Records come in the order of the tenant index (``byTenant``), whose sort keys are
built from the record itself (a time or a name, then the id): a restored tenant
lists them in the same order, so the checksums compare. Records that changed while
the backup ran are patched in (``patched``: their state read strongly consistent,
None when gone) at their place in that order; only they are held.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from dal.jobs.files import JobFiles
from dal.models import Document, Entity, Record
from dal.store import Repos

BUCKET = "backups"
PAGE = 500
# What a restore into another tenant gives a document of its own: its object's key
# (which starts with the tenant), the copy's S3 version, and version 1 (a create).
TARGETS_OWN = frozenset({"key", "objectVersion", "version"})


def kept(current: Record | None) -> Record | None:
    """What a backup keeps of a record's current state: a document only once available."""
    if isinstance(current, Document) and current.status != "AVAILABLE":
        return None
    return current


class Sums:
    """An entity file's count and checksums: of its bytes, and of its records in the
    form a restore into another tenant reads back (``TARGETS_OWN`` left out)."""

    def __init__(self, repos: Repos, entity: Entity) -> None:
        self.codec, self.entity = repos.of(entity).codec, entity
        self.body, self.portable, self.count = hashlib.sha256(), hashlib.sha256(), 0

    def add(self, record: Record) -> bytes:
        row: dict[str, Any] = self.codec.public(record)
        line = _line(row)
        self.body.update(line)
        if self.entity is Entity.DOCUMENT:
            self.portable.update(_line({k: v for k, v in row.items() if k not in TARGETS_OWN}))
        else:
            self.portable.update(line)
        self.count += 1
        return line


def _line(row: dict[str, Any]) -> bytes:
    return json.dumps(row, sort_keys=True).encode() + b"\n"


async def records(
    repos: Repos, entity: Entity, patched: Mapping[str, Record | None]
) -> AsyncIterator[list[Record]]:
    """The tenant's records of ``entity`` in index order, a page at a time; those in
    ``patched`` as patched, each merged in where the index would list it."""
    repo = repos.of(entity)
    listing = repo.listing("byTenant", repos.scope.key("all"))
    sk = listing.index.sk

    def place(r: Record) -> str:
        return str(repo.codec.item(repos.scope, r)[sk])

    def first(a: str, b: str) -> bool:
        return a < b if listing.forward else a > b

    given = sorted((r for r in patched.values() if r is not None), key=place)
    pending = deque(given if listing.forward else reversed(given))
    after: str | None = None
    while True:
        page = await repo.page(listing, PAGE, after)
        out: list[Record] = []
        for r in page.items:
            while pending and first(place(pending[0]), place(r)):
                out.append(pending.popleft())
            if r.id not in patched:
                out.append(r)
        yield out
        if not page.has_next:
            break
        after = page.cursors[-1]
    yield list(pending)


async def write(
    repos: Repos, files: JobFiles, key: str, entity: Entity, patched: Mapping[str, Record | None]
) -> dict[str, Any]:
    """One entity's file; its manifest entry (key, count, checksums)."""
    sums = Sums(repos, entity)
    async with files.writer(BUCKET, key, "application/x-ndjson") as out:
        async for page in records(repos, entity, patched):
            await out.write(b"".join(sums.add(r) for r in page))
    return {
        "key": key,
        "count": sums.count,
        "sha256": sums.body.hexdigest(),
        "records": sums.portable.hexdigest(),
    }


async def summed(repos: Repos, entity: Entity) -> Sums:
    """The tenant's records of ``entity`` as a backup would sum them (nothing written)."""
    sums = Sums(repos, entity)
    async for page in records(repos, entity, {}):
        for r in page:
            sums.add(r)
    return sums
