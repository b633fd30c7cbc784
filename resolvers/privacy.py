"""Privacy requests (access exports, erasures) and the audit log.

A request is a job of kind PRIVACY (``jobs/privacy``): it is checked at once
(the role, the subject, a legal hold) so a bad request fails as a mutation
error, then queued. Requests are the tenant's, not their starter's: whoever
may handle privacy requests sees all of them. Statuses are the contract's:
PENDING (queued), RUNNING, COMPLETED, FAILED (a cancelled one too); the due
date is 30 days from the request (GDPR's month).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dal.errors import LegalHold
from dal.jobs.records import Job, JobKind, JobStatus
from dal.privacy.audit import AuditEvent, Window
from dal.privacy.subject import SubjectKind, record_of
from resolvers import jobs, policy
from resolvers.context import Info
from resolvers.errors import BadUserInput
from resolvers.pagination import page_size
from resolvers.validation import key_id

DUE = timedelta(days=30)
REASON_MAX = 500
STATUS = {
    JobStatus.QUEUED: "PENDING",
    JobStatus.RUNNING: "RUNNING",
    JobStatus.SUCCEEDED: "COMPLETED",
    JobStatus.FAILED: "FAILED",
    JobStatus.CANCELLED: "FAILED",
}


async def _subject(info: Info, kind: SubjectKind, id: str, erased_too: bool = False) -> None:
    """BAD_USER_INPUT unless ``id`` names a subject; an erased contact may be erased
    again (a run that failed half way is finished so), not exported."""
    found = await record_of(info.context.repos, kind, id)
    erased = getattr(found, "erased_at", None) is not None
    if found is None or (erased and not erased_too):
        what = "an existing contact" if kind is SubjectKind.CONTACT else "an existing user"
        raise BadUserInput(f"subjectId does not name {what}", "subjectId")


async def request_data_export(info: Info, kind: SubjectKind, id: str) -> Job:
    await policy.require(info, "privacy.export")
    jobs.job_files(info)
    await _subject(info, kind, id)
    params = {"kind": "ACCESS", "subjectKind": kind.value, "subjectId": id}
    return await jobs.start_job(info, JobKind.PRIVACY, params)


async def request_erasure(info: Info, kind: SubjectKind, id: str, reason: str | None) -> Job:
    await policy.require(info, "privacy.erase")
    jobs.job_files(info)
    if reason is not None and len(reason) > REASON_MAX:
        raise BadUserInput(f"reason is longer than {REASON_MAX} characters", "reason")
    await _subject(info, kind, id, erased_too=True)
    if await info.context.repos.archive.on_hold():
        raise LegalHold()
    params: dict[str, Any] = {"kind": "ERASURE", "subjectKind": kind.value, "subjectId": id}
    if reason:
        params["reason"] = reason
    return await jobs.start_job(info, JobKind.PRIVACY, params)


async def privacy_request(info: Info, id: str) -> Job | None:
    await policy.require(info, "privacy.read")
    found = await info.context.repos.jobs.get(key_id(id))
    return found if found is not None and found.kind is JobKind.PRIVACY else None


async def privacy_requests(
    info: Info, first: int | None, after: str | None
) -> tuple[list[Job], list[str], bool]:
    await policy.require(info, "privacy.read")
    return await info.context.repos.jobs.page(JobKind.PRIVACY, page_size(info, first), after)


def due_at(job: Job) -> datetime:
    return job.created_at + DUE


async def audit_log(
    info: Info, window: Window, first: int | None, after: str | None
) -> tuple[list[AuditEvent], list[str], bool]:
    await policy.require(info, "audit.read")
    if (window.record_id is None) == (window.actor_id is None):
        raise BadUserInput("give one of recordId and actorId", "recordId")
    if window.start and window.end and window.start > window.end:
        raise BadUserInput("from is after to", "from")
    return await info.context.repos.audit.page(window, page_size(info, first), after)
