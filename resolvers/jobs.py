"""Starting, reading and cancelling jobs (imports, exports, generated reports).

A start checks what it can at once (the role, the file's key and size, the
report's window) so a bad request fails as a mutation error, not as a job that
fails later; then it writes the job QUEUED and sends its message. A job is
its starter's: other users see it only with ADMIN (``job.read.any``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dal.errors import ConditionFailed
from dal.jobs import files
from dal.jobs.files import JobFiles
from dal.jobs.records import Job, JobKind, JobStatus, new_id
from dal.models import Entity
from dal.storage.objects import Ticket
from dal.timefmt import utcnow
from resolvers import policy
from resolvers.context import Info
from resolvers.errors import BadUserInput, NotFoundError, Unavailable
from resolvers.pagination import page_size
from resolvers.periods import Period, buckets
from resolvers.validation import key_id

NAME_MAX = 255


def job_files(info: Info) -> JobFiles:
    found = info.context.repos.job_files
    if found is None:  # a store built without S3 (some tests): not a client's problem
        raise Unavailable()
    return found


async def _visible(info: Info, job: Job | None) -> Job | None:
    if job is None or job.actor == info.context.principal.user_id:
        return job
    allowed = await policy.scope(info, "job.read.any")
    return job if allowed is policy.Scope.ANY else None


async def job(info: Info, id: str) -> Job | None:
    return await _visible(info, await info.context.repos.jobs.get(key_id(id)))


async def jobs(
    info: Info, kind: JobKind | None, first: int | None, after: str | None
) -> tuple[list[Job], list[str], bool]:
    found, cursors, more = await info.context.repos.jobs.page(kind, page_size(info, first), after)
    shown = [(j, c) for j, c in zip(found, cursors, strict=True) if await _visible(info, j)]
    return [j for j, _ in shown], [c for _, c in shown], more


async def start_job(info: Info, kind: JobKind, params: dict[str, Any]) -> Job:
    ctx = info.context
    queue = ctx.repos.queue
    if queue is None:
        raise Unavailable()
    made = Job(
        id=new_id(),
        kind=kind,
        status=JobStatus.QUEUED,
        params=params,
        actor=ctx.principal.user_id,
        role=ctx.principal.role.value,
        created_at=utcnow(),
    )
    await ctx.repos.jobs.create(made)
    await queue.send(ctx.repos.scope.tenant_id, made.id)
    return made


async def request_import_upload(
    info: Info, entity: Entity, file_name: str, size: int
) -> tuple[str, Ticket, int]:
    await policy.require(info, "job.import")
    found = job_files(info)
    if files.format_of(file_name) is None:
        raise BadUserInput("fileName must end in .csv, .jsonl, .ndjson or .json", "fileName")
    if not 1 <= size <= found.import_max_bytes:
        raise BadUserInput(f"size must be between 1 and {found.import_max_bytes} bytes", "size")
    if len(file_name) > NAME_MAX:
        raise BadUserInput(f"fileName is longer than {NAME_MAX} characters", "fileName")
    key = files.import_key(info.context.repos.scope.tenant_id, file_name)
    content_type = files.CONTENT_TYPES[files.format_of(file_name) or "CSV"]
    bucket = found.bucket("imports-exports")
    ticket = await found.blobs.objects.post_ticket(
        bucket, key, content_type, size, found.upload_seconds
    )
    return key, ticket, found.upload_seconds


async def start_import(info: Info, entity: Entity, key: str, dry_run: bool) -> Job:
    await policy.require(info, "job.import")
    found = job_files(info)
    tenant = info.context.repos.scope.tenant_id
    fmt = files.format_of(key)
    if not files.is_import_key(tenant, key) or fmt is None:
        raise BadUserInput("key must be one requestImportUpload gave", "key")
    head = await found.blobs.objects.head(found.bucket("imports-exports"), key)
    if head is None:
        raise BadUserInput("no file was uploaded under this key", "key")
    if head.size > found.import_max_bytes:
        raise BadUserInput(f"the file is larger than {found.import_max_bytes} bytes", "key")
    params = {"entity": entity.name, "key": key, "dryRun": dry_run, "format": fmt}
    return await start_job(info, JobKind.IMPORT, params)


async def start_export(info: Info, entity: Entity, fmt: str) -> Job:
    await policy.require(info, "job.export")
    job_files(info)
    return await start_job(info, JobKind.EXPORT, {"entity": entity.name, "format": fmt})


async def generate_report(
    info: Info, kind: str, start: date, end: date, period: Period, fmt: str
) -> Job:
    await policy.require(info, "job.report")
    job_files(info)
    buckets(start, end, period)  # a bad window fails now, as the report query would
    params = {"kind": kind, "from": start.isoformat(), "to": end.isoformat()}
    params |= {"period": period.value, "format": fmt}
    return await start_job(info, JobKind.REPORT, params)


async def cancel_job(info: Info, id: str) -> Job:
    found = await job(info, id)
    if found is None:
        raise NotFoundError("job not found")
    if found.actor != info.context.principal.user_id:
        await policy.require(info, "job.cancel.any")
    if found.status.finished:
        raise BadUserInput(f"the job has finished ({found.status.value})", "id")
    if found.kind is JobKind.PRIVACY:  # half an erasure would be worse than none
        raise BadUserInput("a privacy request cannot be cancelled", "id")
    return await _cancel(info, found)


async def _cancel(info: Info, found: Job) -> Job:
    """A queued job is cancelled at once; a running one at its next checkpoint."""
    jobs = info.context.repos.jobs
    try:
        if found.status is JobStatus.QUEUED:
            return await jobs.finish(found.id, None, JobStatus.CANCELLED, message="cancelled")
        return await jobs.request_cancel(found.id)
    except ConditionFailed:
        # It moved on meanwhile (started, or finished): answer with what it is now.
        now = await jobs.get(found.id)
        if now is None:
            raise NotFoundError("job not found") from None
        if now.status is JobStatus.RUNNING and not now.cancel_requested:
            return await jobs.request_cancel(found.id)
        return now


async def url(info: Info, job: Job, key: str | None, content_type: str) -> str | None:
    """A presigned GET of one of the job's files (its result, its rejected rows)."""
    if key is None:
        return None
    found = job_files(info)
    bucket = found.bucket("reports" if job.kind is JobKind.REPORT else "imports-exports")
    name = key.rsplit("/", 1)[-1]
    return await found.blobs.url(bucket, key, name, content_type, found.url_seconds)
