"""The PRIVACY job kind: an access export or an erasure, by the request's ``kind``."""

from __future__ import annotations

from jobs.privacy.access import run_access
from jobs.privacy.erasure import run_erasure
from jobs.run import Outcome, Run


async def run_privacy(run: Run) -> Outcome:
    if run.job.params["kind"] == "ACCESS":
        return await run_access(run)
    receipt = await run_erasure(run)
    total = sum(int(s["items"]) for s in receipt["stores"])
    return Outcome(
        message=f"erased: {total} items in {len(receipt['stores'])} stores", receipt=receipt
    )
