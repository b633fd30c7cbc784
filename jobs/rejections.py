"""The rejected rows of an import: one part per chunk in S3 (so a resumed job keeps
the rejections of chunks it does not run again), joined at the end into one CSV
(``errorUrl``): the row number, the field to blame, the reason, then the row as given.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from dal.jobs import files
from jobs.cells import defused
from jobs.rows import Result, Spec
from jobs.run import Run

BUCKET = "imports-exports"


async def keep(run: Run, chunk: int, rejected: Sequence[Result]) -> None:
    if not rejected:
        return
    lines = [_line(r) for r in rejected]
    key = files.rejected_part(run.repos.scope.tenant_id, run.job.id, chunk)
    body = "".join(lines).encode()
    await run.files.blobs.put(run.files.bucket(BUCKET), key, body, "application/x-ndjson")


def _line(result: Result) -> str:
    given = {"row": result.row.number, "field": result.field, "reason": result.reason}
    return json.dumps({**given, "values": result.row.values}, default=str) + "\n"


async def combine(run: Run, spec: Spec) -> str:
    """The parts joined into one CSV, a part read and a multipart part written at a
    time (``dal.storage.stream``): however many rows were refused, none are all held."""
    tenant, bucket = run.repos.scope.tenant_id, run.files.bucket(BUCKET)
    prefix = files.rejected_part(tenant, run.job.id, 0).rsplit("/", 1)[0] + "/"
    final = files.rejected_key(tenant, run.job.id)
    async with run.files.writer(BUCKET, final, "text/csv") as out:
        await out.write(_csv([["row", "field", "reason", *spec.columns]]))
        for key in await run.files.blobs.keys(bucket, prefix):  # one a chunk: few
            body = await run.files.blobs.get(bucket, key)  # one chunk's rejections
            await out.write(_csv(_cells(spec, json.loads(line)) for line in body.splitlines()))
    return final


def _csv(rows: Iterable[list[Any]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _cells(spec: Spec, given: dict[str, Any]) -> list[Any]:
    values = given["values"]
    shown = [defused(_cell(values.get(c))) for c in spec.columns]  # opened in spreadsheets
    return [given["row"], given["field"] or "", defused(given["reason"]), *shown]


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else ("" if value is None else value)
