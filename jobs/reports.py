"""A generated report: one of the report queries, run on the schema as its starter
(so the figures are the GraphQL answer's, to the cent), flattened to rows and
written as CSV or JSON into the reports bucket; ``resultUrl`` is a presigned GET.

A report's rows are bounded by its query (periods of a window capped by
``MAX_BUCKETS``, a tenant's users, the stages), not by the tenant's records: the
answer is one GraphQL result, written through the same part-at-a-time writer as
exports (``dal.storage.stream``).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from typing import Any

from dal.jobs import files
from dal.jobs.records import Progress
from jobs.run import JobError, Outcome, Run

BUCKETS = "period count totalValue weightedValue"
DOCUMENTS = {
    "PIPELINE": "{ report: pipeline { stages { stage count totalValue weightedValue } } }",
    "FORECAST": "query($from: Date!, $to: Date!, $period: Period) "
    f"{{ report: forecast(from: $from, to: $to, period: $period) {{ {BUCKETS} }} }}",
    "SALES": "query($from: Date!, $to: Date!, $period: Period) "
    "{ report: salesByPeriod(from: $from, to: $to, period: $period) "
    "{ period dealsWon revenue } }",
    "ACQUISITION": "query($from: Date!, $to: Date!, $period: Period) "
    "{ report: customerAcquisition(from: $from, to: $to, period: $period) "
    "{ period newCustomers } }",
    "CONVERSION": "query($from: Date!, $to: Date!) "
    "{ report: leadConversion(from: $from, to: $to) { leads won lost rate } }",
    "ACTIVITY": "query($start: DateTime!, $end: DateTime!) "
    "{ report: activityMetrics(from: $start, to: $end) "
    "{ user { id username } planned completed overdue byType } }",
}


def arguments(run: Run) -> dict[str, Any]:
    p = run.job.params
    zone = run.repos.scope.zone
    start, end = date.fromisoformat(p["from"]), date.fromisoformat(p["to"])
    # activityMetrics takes instants: the whole days of the tenant's zone, from-to.
    first = datetime.combine(start, time(), zone)
    last = datetime.combine(end + timedelta(days=1), time(), zone) - timedelta(microseconds=1)
    return {
        "from": p["from"],
        "to": p["to"],
        "period": p["period"],
        "start": first.isoformat(),
        "end": last.isoformat(),
    }


async def run_report(run: Run) -> Outcome:
    kind, fmt = run.job.params["kind"], run.job.params["format"]
    document = DOCUMENTS[kind]
    wanted = {k: v for k, v in arguments(run).items() if f"${k}" in document}
    result = await run.execute(document, wanted, run.make_context())
    if result.errors:
        raise JobError(result.errors[0].message)
    rows = flatten(result.data["report"])
    body = _json(rows) if fmt == "JSON" else _csv(rows)
    key = files.report_key(run.repos.scope.tenant_id, run.job.id, kind, fmt)
    content_type = "application/json" if fmt == "JSON" else "text/csv"
    async with run.files.writer("reports", key, content_type) as out:
        await out.write(body)
    await run.checkpoint(Progress(len(rows), 0, {}, len(rows)))
    return Outcome(result_key=key, message=f"{len(rows)} rows")


def flatten(answer: Any) -> list[dict[str, Any]]:
    """The answer as rows: a list as it is, a pipeline's stages, one object as one row;
    nested objects become dotted columns (``user.id``), JSON maps one column each."""
    if isinstance(answer, dict) and "stages" in answer:
        answer = answer["stages"]
    listed = answer if isinstance(answer, list) else [answer]
    return [_flat(row) for row in listed]


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{name}.")
        else:
            out[f"{prefix}{name}"] = value
    return out


def _json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, indent=1).encode()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    columns = list(dict.fromkeys(c for r in rows for c in r))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()
