"""An import: every row of a CSV or JSON-lines file, upserted by id as the API's own
mutation (createX, or updateX of what changed), so each row is validated, permitted
and logged exactly as that mutation would be; the aggregates, search terms,
reference counts and the change log follow from the one write path.

Rows are taken ``chunk_rows`` at a time, ``concurrency`` of them at once; after
each chunk the job records a checkpoint (the next row, the counts so far) and the
chunk's rejected rows go to S3. A resumed run starts at the checkpoint; the chunk
that was running when a worker died runs again, harmlessly: a row without an id
gets one derived from the job and the row number, so its second run finds the
record and, its values being stored already, writes nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dal import ids
from dal.jobs.records import Progress
from dal.models import Entity, Record
from jobs import rejections
from jobs.rows import SPECS, Result, Row, Spec, read, same
from jobs.run import JobError, Outcome, Run
from resolvers.context import Context
from resolvers.sync_ops import Kind, document, variables

COERCION = re.compile(r"invalid value at \.(\w+): (.*)$", re.DOTALL)
SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)
REFERENCES = {"customerId": Entity.CUSTOMER, "contactId": Entity.CONTACT}


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, results: Sequence[Result]) -> None:
        for r in results:
            name = "rejected" if r.done is None else r.done
            setattr(self, name, getattr(self, name) + 1)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("created", "updated", "unchanged", "rejected")}


async def run_import(run: Run) -> Outcome:
    params, job = run.job.params, run.job
    spec = SPECS[Entity[params["entity"]]]
    body = await run.files.blobs.get(run.files.bucket("imports-exports"), params["key"])
    rows = list(read(spec, body, params["format"]))
    if len(rows) > run.max_rows:
        raise JobError(f"the file has {len(rows)} rows; at most {run.max_rows} are taken")
    run.repos.journal.dry_run = bool(params.get("dryRun"))
    at = int(job.checkpoint.get("row", 0))
    tally = Tally(**{k: int(v) for k, v in job.checkpoint.get("counts", {}).items()})
    seen = _ids(spec, job.id, rows[:at], job.created_at.timestamp())
    for start in range(at, len(rows), run.chunk_rows):
        chunk = rows[start : start + run.chunk_rows]
        results = await _chunk(run, spec, chunk, seen)
        tally.add(results)
        await rejections.keep(run, start // run.chunk_rows, [r for r in results if r.done is None])
        cp = {"row": start + len(chunk), "counts": tally.counts()}
        await run.checkpoint(Progress(start + len(chunk), tally.rejected, cp, len(rows)))
    if not rows:
        await run.checkpoint(Progress(0, 0, {"row": 0}, 0))
    error_key = await rejections.combine(run, spec) if tally.rejected else None
    return Outcome(error_key=error_key, message=_summary(tally, run.repos.journal.dry_run))


def _summary(tally: Tally, dry: bool) -> str:
    c = tally.counts()
    text = ", ".join(f"{v} {k}" for k, v in c.items())
    return f"dry run, nothing written: would be {text}" if dry else text


def _ids(spec: Spec, job_id: str, rows: Sequence[Row], at: float) -> dict[str, int]:
    return {row_id(spec, job_id, r, at): r.number for r in rows if r.problem is None}


def row_id(spec: Spec, job_id: str, row: Row, at: float) -> str:
    given = row.values.get("id")
    if given not in (None, ""):
        return str(given)
    return ids.derived(spec.entity, f"{job_id}:{row.number}", int(at * 1000))


async def _chunk(run: Run, spec: Spec, rows: Sequence[Row], seen: dict[str, int]) -> list[Result]:
    context = run.make_context()
    at = run.job.created_at.timestamp()
    keyed: list[tuple[Row, str]] = []
    results: dict[int, Result] = {}
    for row in rows:
        rid = row_id(spec, run.job.id, row, at)
        if row.problem is not None:
            results[row.number] = Result(row, None, row.field, row.problem)
        elif rid in seen and seen[rid] != row.number:
            results[row.number] = Result(row, None, "id", f"id {rid} is repeated (row {seen[rid]})")
        else:
            seen[rid] = row.number
            keyed.append((row, rid))
    stored = await run.repos.of(spec.entity).get_many([rid for _, rid in keyed])
    missing = await _dangling(run, [r for r, _ in keyed]) if run.repos.journal.dry_run else {}
    gate = asyncio.Semaphore(run.concurrency)

    async def one(row: Row, rid: str, record: Record | None) -> None:
        async with gate:
            if row.number in missing:
                field = missing[row.number]
                results[row.number] = Result(row, None, field, _dangles(field))
                return
            results[row.number] = await _upsert(run, spec, context, row, rid, record)

    await asyncio.gather(*(one(r, i, s) for (r, i), s in zip(keyed, stored, strict=True)))
    return [results[r.number] for r in rows]


def _dangles(field: str) -> str:
    return f"{field} does not name an existing record"


async def _dangling(run: Run, rows: Sequence[Row]) -> dict[int, str]:
    """A dry run writes no transaction, so the references a write's transaction
    would check are read here: row number -> the first field naming nothing."""
    wanted: dict[Entity, set[str]] = {}
    for row in rows:
        for field, entity in _refs(row):
            wanted.setdefault(entity, set()).add(field_value(row, field))
    found: set[str] = set()
    for entity, wanted_ids in wanted.items():
        records = await run.repos.of(entity).get_many(sorted(wanted_ids))
        found |= {r.id for r in records if r is not None}
    out: dict[int, str] = {}
    for row in rows:
        for field, _ in _refs(row):
            if field_value(row, field) not in found:
                out.setdefault(row.number, field)
    return out


def field_value(row: Row, field: str) -> str:
    return str(row.values[field])


def _refs(row: Row) -> list[tuple[str, Entity]]:
    out = [(f, e) for f, e in REFERENCES.items() if row.values.get(f)]
    related = row.values.get("relatedId")
    entity = ids.entity_of(str(related)) if related else None
    return out + ([("relatedId", entity)] if entity is not None else [])


async def _upsert(
    run: Run, spec: Spec, context: Context, row: Row, rid: str, record: Record | None
) -> Result:
    if record is None:
        done = await _create(run, spec, context, row, rid)
        if done.reason != "a record with this id already exists":
            return done
        # Created by this chunk's earlier run, not yet in the (eventually consistent) read.
        record = await run.repos.of(spec.entity).get(rid)
        if record is None:
            return done
    return await _update(run, spec, context, row, rid, record)


async def _create(run: Run, spec: Spec, context: Context, row: Row, rid: str) -> Result:
    fields = {k: v for k, v in row.values.items() if k in spec.create and v is not None}
    failed = await _mutate(run, spec.entity, Kind.CREATE, rid, fields, context)
    if failed is not None:
        return Result(row, None, *failed)
    later = {k: v for k, v in row.values.items() if k in spec.later and v is not None}
    if later and not run.repos.journal.dry_run:
        failed = await _mutate(run, spec.entity, Kind.UPDATE, rid, later, context)
        if failed is not None:
            return Result(row, None, *failed)
    return Result(row, "created")


async def _update(
    run: Run, spec: Spec, context: Context, row: Row, rid: str, record: Record
) -> Result:
    stored = run.repos.of(spec.entity).codec.public(record)
    for name in spec.fixed:
        if name in row.values and not same(spec, name, row.values[name], stored.get(name)):
            return Result(
                row, None, name, f"{name} cannot change (the record has {stored.get(name)})"
            )
    changes = {
        k: v
        for k, v in row.values.items()
        if k in spec.update and not same(spec, k, v, stored.get(k))
    }
    if not changes:
        return Result(row, "unchanged")
    failed = await _mutate(run, spec.entity, Kind.UPDATE, rid, changes, context)
    return Result(row, None, *failed) if failed else Result(row, "updated")


async def _mutate(
    run: Run, entity: Entity, kind: Kind, rid: str, fields: dict[str, Any], context: Context
) -> tuple[str | None, str] | None:
    """None when written (or, in a dry run, when it would be); else (field, reason)."""
    result = await run.execute(document(entity, kind), variables(kind, rid, fields, None), context)
    if not result.errors:
        return None
    error = result.errors[0]
    extensions = error.extensions or {}
    if extensions.get("code") == "DRY_RUN":
        return None
    field = extensions.get("field")
    coerced = COERCION.search(error.message) if not field else None
    if coerced is not None:  # graphql-core's own ("Variable '$input' has invalid value")
        detail = SUGGESTION.sub("", coerced.group(2)).strip()
        return coerced.group(1), f"{coerced.group(1)}: {detail}"
    return (str(field) if field else None, error.message)
