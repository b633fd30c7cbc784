"""An export: every record of one entity in the tenant, as CSV or JSON lines, into
the imports-exports bucket; ``resultUrl`` is a presigned GET of it. Columns are
the API's field names (``rows.py``), so the file imports back to the same records.

Read through the tenant index (``byTenant``), a page per checkpoint, so progress
shows and ``cancelJob`` stops it; an export is cheap to redo, so a resumed run
starts again from the first page (the file is written once, at the end).
"""

from __future__ import annotations

from typing import Any

from dal.jobs import files
from dal.jobs.records import Progress
from dal.models import Entity
from jobs.rows import SPECS, write
from jobs.run import Outcome, Run

PAGE = 500


async def run_export(run: Run) -> Outcome:
    entity, fmt = Entity[run.job.params["entity"]], run.job.params["format"]
    repo = run.repos.of(entity)
    listing = repo.listing("byTenant", run.repos.scope.key("all"))
    records: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = await repo.page(listing, PAGE, after)
        records += [repo.codec.public(r) for r in page.items]
        await run.checkpoint(Progress(len(records), 0, {}))
        if not page.has_next:
            break
        after = page.cursors[-1]
    key = files.export_key(run.repos.scope.tenant_id, run.job.id, entity.name, fmt)
    body = write(SPECS[entity], records, fmt)
    bucket = run.files.bucket("imports-exports")
    await run.files.blobs.put(bucket, key, body, files.CONTENT_TYPES[fmt])
    await run.checkpoint(Progress(len(records), 0, {}, len(records)))
    return Outcome(result_key=key, message=f"{len(records)} records exported")
