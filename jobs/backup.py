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

Consistency: the change log's heads are read before and after the records; if
they moved (writes during the backup), the changed records are read again
(strongly consistent) and patched in, until a pass sees no news. The backup is
then the tenant as of its last mark.

A restore refuses a tenant that has any record, writes the records, copies each
document's object to the target's key (a key starts with its tenant), then reads
every record back and checks counts and checksums against the manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from dal.jobs.files import JobFiles
from dal.loading import bulk
from dal.models import Document, Entity, Record
from dal.store import Repos
from dal.sync.pull import FULL_ORDER
from dal.sync.reader import ChangeReader
from dal.timefmt import dump_dt, utcnow

Progress = Callable[[str, int, int], None]  # (phase, done, total)
BUCKET = "backups"
PAGE = 500
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


async def _every(repos: Repos, entity: Entity) -> dict[str, Record]:
    repo = repos.of(entity)
    listing = repo.listing("byTenant", repos.scope.key("all"))
    found: dict[str, Record] = {}
    after: str | None = None
    while True:
        page = await repo.page(listing, PAGE, after)
        found |= {r.id: r for r in page.items}
        if not page.has_next:
            return found
        after = page.cursors[-1]


async def snapshot(
    repos: Repos, progress: Progress = _noop
) -> tuple[dict[Entity, dict[str, Record]], tuple[int, ...]]:
    """Every record of the tenant, consistent as of the returned change-log mark."""
    reader = ChangeReader(repos.journal.dynamo, repos.scope)
    mark = await reader.heads()
    records: dict[Entity, dict[str, Record]] = {}
    for n, entity in enumerate(FULL_ORDER):
        records[entity] = await _every(repos, entity)
        progress("read", n + 1, len(FULL_ORDER))
    for _ in range(MAX_PASSES):
        now = await reader.heads()
        if now == mark:
            return records, mark
        delta = await reader.delta(mark, 10_000, frozenset(FULL_ORDER))
        for change in delta.changes:
            current = await repos.of(change.entity).get(change.id)
            _patch(records[change.entity], change.id, current)
        mark = delta.positions
    raise BackupError("the tenant kept changing during the backup; try again when quieter")


def _patch(records: dict[str, Record], id: str, current: Record | None) -> None:
    if current is None or (isinstance(current, Document) and current.status != "AVAILABLE"):
        records.pop(id, None)
    else:
        records[id] = current


# What a restore into another tenant gives a document of its own: its object's key
# (which starts with the tenant), the copy's S3 version, and version 1 (a create).
TARGETS_OWN = frozenset({"key", "objectVersion", "version"})


def _lines(
    repos: Repos, entity: Entity, records: dict[str, Record], portable: bool = False
) -> bytes:
    codec = repos.of(entity).codec
    rows = [codec.public(records[i]) for i in sorted(records)]
    if portable and entity is Entity.DOCUMENT:
        rows = [{k: v for k, v in r.items() if k not in TARGETS_OWN} for r in rows]
    return b"".join(json.dumps(r, sort_keys=True).encode() + b"\n" for r in rows)


async def backup(repos: Repos, files: JobFiles, progress: Progress = _noop) -> tuple[str, Manifest]:
    records, mark = await snapshot(repos, progress)
    tenant = repos.scope.tenant_id
    prefix = f"{tenant}/backups/bak_{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    entries: dict[str, dict[str, Any]] = {}
    for entity in FULL_ORDER:
        body = _lines(repos, entity, records[entity])
        key = f"{prefix}/{entity.value.lower()}.jsonl"
        await files.blobs.put(files.bucket(BUCKET), key, body, "application/x-ndjson")
        portable = _sha(_lines(repos, entity, records[entity], portable=True))
        count = len(records[entity])
        entries[entity.name] = {
            "key": key,
            "count": count,
            "sha256": _sha(body),
            "records": portable,
        }
    scope = repos.scope
    made = Manifest(
        tenant, scope.model.value, str(scope.zone), dump_dt(utcnow()), list(mark), entries
    )
    key = f"{prefix}/manifest.json"
    await files.blobs.put(files.bucket(BUCKET), key, made.dumps(), "application/json")
    return key, made


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


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
        body = await files.blobs.get(files.bucket(BUCKET), entry["key"])
        if _sha(body) != entry["sha256"]:
            raise BackupError(f"{entry['key']} does not match its checksum in the manifest")
        codec = repos.of(entity).codec
        loaded[entity] = [_record(codec, json.loads(line)) for line in body.splitlines() if line]
    plain = [r for e, rs in loaded.items() if e is not Entity.DOCUMENT for r in rs]
    await bulk.load(repos, plain, progress=lambda done, total: progress("write", done, total))
    await _documents(repos, files, made.tenant, loaded[Entity.DOCUMENT], progress)
    await verify(repos, made)
    return made


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
    read back through the tenant indexes with the target's keys)."""
    records, _ = await snapshot(repos)
    for entity in FULL_ORDER:
        entry = made.files[entity.name]
        shown = records[entity]
        body = _lines(repos, entity, shown, portable=True)
        if (len(shown), _sha(body)) != (entry["count"], entry["records"]):
            raise BackupError(
                f"restored {entity.value} differ from the backup ({len(shown)} of {entry['count']})"
            )
