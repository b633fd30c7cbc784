"""An export: every record of one entity in the tenant, as CSV or JSON lines, into
the imports-exports bucket; ``resultUrl`` is a presigned GET of it. Columns are
the API's field names (``rows.py``), so the file imports back to the same records.

Read through the tenant index (``byTenant``), a page per checkpoint, so progress
shows and ``cancelJob`` stops it. Each page is encoded and handed to a multipart
upload (``dal.storage.stream``) before the next is read: the worker holds one page
and one part, whatever the tenant's size. The file appears under its key only when
the upload completes; a cancelled or failed run aborts it, and a resumed run
starts again from the first page (an export is cheap to redo).
"""

from __future__ import annotations

from dal.jobs import files
from dal.jobs.records import Progress
from dal.models import Entity
from jobs.rows import SPECS, encoded, heading
from jobs.run import Outcome, Run

PAGE = 500


async def run_export(run: Run) -> Outcome:
    entity, fmt = Entity[run.job.params["entity"]], run.job.params["format"]
    repo, spec = run.repos.of(entity), SPECS[entity]
    listing = repo.listing("byTenant", run.repos.scope.key("all"))
    key = files.export_key(run.repos.scope.tenant_id, run.job.id, entity.name, fmt)
    done, after = 0, None
    async with run.files.writer("imports-exports", key, files.CONTENT_TYPES[fmt]) as out:
        await out.write(heading(spec, fmt))
        while True:
            page = await repo.page(listing, PAGE, after)
            await out.write(encoded(spec, [repo.codec.public(r) for r in page.items], fmt))
            done += len(page.items)
            await run.checkpoint(Progress(done, 0, {}))
            if not page.has_next:
                break
            after = page.cursors[-1]
    await run.checkpoint(Progress(done, 0, {}, done))
    return Outcome(result_key=key, message=f"{done} records exported")
