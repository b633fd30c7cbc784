"""Which handler runs each kind of job."""

from __future__ import annotations

from dal.jobs.records import JobKind
from jobs.exports import run_export
from jobs.imports import run_import
from jobs.privacy.access import run_access
from jobs.privacy.erasure import run_erasure
from jobs.reports import run_report
from jobs.run import Handler, Outcome, Run


async def run_privacy(run: Run) -> Outcome:
    """The PRIVACY job kind: an access export or an erasure, by the request's ``kind``."""
    if run.job.params["kind"] == "ACCESS":
        return await run_access(run)
    receipt = await run_erasure(run)
    total = sum(int(s["items"]) for s in receipt["stores"])
    return Outcome(
        message=f"erased: {total} items in {len(receipt['stores'])} stores", receipt=receipt
    )


HANDLERS: dict[JobKind, Handler] = {
    JobKind.IMPORT: run_import,
    JobKind.EXPORT: run_export,
    JobKind.REPORT: run_report,
    JobKind.PRIVACY: run_privacy,
}
