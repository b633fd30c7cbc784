"""Logical backups of one tenant, and their restore into an empty tenant.

A backup is, under ``{tenant}/backups/{backupId}/`` in the backups bucket, one
JSON-lines file per entity (each record as the API names its fields, ids and
versions as stored) and ``manifest.json``: the tenant, its model and zone, the
change-log mark the backup is consistent at, and per file its record count and
SHA-256. Derived items (aggregates, search terms, reference counts) are not
copied: a restore rebuilds them from the records with the bulk loader, which
writes exactly what the write path would (``tests/integration/test_bulk.py``),
and under the target tenant's own keys, whatever its isolation model; the
aggregates follow from the tables' streams, added to what the tenant holds.

Each file is streamed (``backup_files.py``): a page of the tenant index read, its
lines handed to a multipart upload, the checksums summed as they go; a record's
line is as before, the records in the index's order (a restored tenant's order).

Consistency: the change log's heads are read before and after the records (each
once the stream consumer has numbered what was committed before it); if
they moved (writes during the backup), the changed records are read again
(strongly consistent) and the files of their entities written again with them
patched in, until a pass sees no news. The backup is then the tenant as of its
last mark. Only the changed records are held, never the tenant.

A restore refuses a tenant that has any record, reads each file a line at a time
(its checksum summed as it goes), writes the records, copies each document's
object to the target's key (a key starts with its tenant), then reads every record
back a page at a time and checks counts and checksums against the manifest. The
bulk loader plans a load whole (reference counts and aggregates are sums over it),
so a restore still holds the tenant's records while it writes them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

from dal.jobs.files import JobFiles
from dal.loading import bulk
from dal.models import Document, Entity, Record
from dal.store import Repos
from dal.sync.pull import FULL_ORDER
from dal.sync.reader import ChangeReader
from dal.timefmt import dump_dt, utcnow
from jobs import backup_files

Progress = Callable[[str, int, int], None]  # (phase, done, total)
Settle = Callable[[], Awaitable[None]]  # the stream consumer's: see "Consistency"
BUCKET = backup_files.BUCKET
MAX_PASSES = 5  # patch passes before a busy tenant's backup gives up


class BackupError(Exception):
    """A backup that cannot be made, or a restore that would not be faithful."""


@dataclass(frozen=True, slots=True)
class Manifest:
    tenant: str
    model: str
    time_zone: str
    taken_at: str
    mark: list[int]
    files: dict[str, dict[str, Any]]  # entity -> {key, count, sha256}

    def dumps(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()


def _noop(phase: str, done: int, total: int) -> None:
    return None


async def backup(
    repos: Repos, files: JobFiles, settle: Settle, progress: Progress = _noop
) -> tuple[str, Manifest]:
    """Every entity's file, streamed; then, while the change log moved meanwhile, the
    files of the entities that changed written again with the changes patched in.
    ``settle`` (the stream consumer's) numbers every entry committed before it in the
    log: each mark is read after it, so a write committed before a mark is under it."""
    reader = ChangeReader(repos.journal.dynamo, repos.scope)
    await settle()
    mark = await reader.heads()
    tenant = repos.scope.tenant_id
    prefix = f"{tenant}/backups/bak_{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    patched: dict[Entity, dict[str, Record | None]] = {e: {} for e in FULL_ORDER}
    entries: dict[str, dict[str, Any]] = {}
    todo = list(FULL_ORDER)
    for _ in range(MAX_PASSES + 1):
        for n, entity in enumerate(todo):
            key = f"{prefix}/{entity.value.lower()}.jsonl"
            entries[entity.name] = await backup_files.write(
                repos, files, key, entity, patched[entity]
            )
            progress("read", n + 1, len(todo))
        await settle()
        if await reader.heads() == mark:
            return await _manifest(repos, files, prefix, mark, entries)
        delta = await reader.delta(mark, 10_000, frozenset(FULL_ORDER))
        for change in delta.changes:
            current = await repos.of(change.entity).get(change.id)
            patched[change.entity][change.id] = backup_files.kept(current)
        todo = [e for e in FULL_ORDER if any(c.entity is e for c in delta.changes)]
        mark = delta.positions
    raise BackupError("the tenant kept changing during the backup; try again when quieter")


async def _manifest(
    repos: Repos,
    files: JobFiles,
    prefix: str,
    mark: tuple[int, ...],
    entries: dict[str, dict[str, Any]],
) -> tuple[str, Manifest]:
    scope = repos.scope
    made = Manifest(
        scope.tenant_id, scope.model.value, str(scope.zone), dump_dt(utcnow()), list(mark), entries
    )
    key = f"{prefix}/manifest.json"
    await files.blobs.put(files.bucket(BUCKET), key, made.dumps(), "application/json")
    return key, made


async def read_manifest(files: JobFiles, key: str) -> Manifest:
    try:
        given = json.loads(await files.blobs.get(files.bucket(BUCKET), key))
        return Manifest(**given)
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{key} is not a backup manifest") from exc


async def restore(repos: Repos, files: JobFiles, key: str, progress: Progress = _noop) -> Manifest:
    made = await read_manifest(files, key)
    await _empty(repos)
    loaded: dict[Entity, list[Record]] = {}
    for entity in FULL_ORDER:
        entry = made.files[entity.name]
        loaded[entity] = await _read(repos, files, entity, entry)
    plain = [r for e, rs in loaded.items() if e is not Entity.DOCUMENT for r in rs]
    written = partial(progress, "write")
    await bulk.load(repos, plain, progress=written, as_stored=True)  # versions as backed up
    await _documents(repos, files, made.tenant, loaded[Entity.DOCUMENT], progress)
    await verify(repos, made)
    return made


async def _read(
    repos: Repos, files: JobFiles, entity: Entity, entry: dict[str, Any]
) -> list[Record]:
    """An entity file's records, read a line at a time and checked against its sum."""
    codec, sha, found = repos.of(entity).codec, hashlib.sha256(), []
    async for line in files.lines(BUCKET, entry["key"]):
        sha.update(line + b"\n")
        found.append(_record(codec, json.loads(line)))
    if sha.hexdigest() != entry["sha256"]:
        raise BackupError(f"{entry['key']} does not match its checksum in the manifest")
    return found


def _record(codec: Any, row: dict[str, Any]) -> Record:
    """A record from its public form: as stored, but JSON fields parsed (``public``)."""
    stored = {a.name for a in codec.attrs if a.json}
    item = {k: json.dumps(v) if k in stored and v is not None else v for k, v in row.items()}
    record: Record = codec.load(item)
    return record


async def _empty(repos: Repos) -> None:
    if (entity := await bulk.occupied(repos)) is not None:
        tenant = repos.scope.tenant_id
        raise BackupError(f"tenant {tenant} has {entity.value}: a restore needs an empty tenant")


async def _documents(
    repos: Repos, files: JobFiles, source: str, docs: list[Record], progress: Progress
) -> None:
    """Each file's object under the target's key (a copy when the tenant differs), then
    its metadata through the repository (its customer's reference count with it)."""
    target = repos.scope.tenant_id
    for n, doc in enumerate(docs):
        assert isinstance(doc, Document)
        moved = doc
        if source != target:
            new_key = target + doc.key[len(source) :]
            bucket = files.bucket(doc.kind.value)
            version = await files.blobs.copy(bucket, doc.key, doc.object_version, new_key)
            moved = replace(doc, key=new_key, object_version=version)
        await repos.documents.create(moved)
        progress("files", n + 1, len(docs))


async def verify(repos: Repos, made: Manifest) -> None:
    """The restored tenant holds exactly the backup's records (counts and checksums,
    read back through the tenant indexes with the target's keys, a page at a time)."""
    for entity in FULL_ORDER:
        entry = made.files[entity.name]
        shown = await backup_files.summed(repos, entity)
        count = shown.count
        if (count, shown.portable.hexdigest()) != (entry["count"], entry["records"]):
            raise BackupError(
                f"restored {entity.value} differ from the backup ({count} of {entry['count']})"
            )
