"""Jobs: imports, exports and generated reports, run by the job worker.

A start answers at once with the job QUEUED; ``job(id)`` shows it running
(``processed``, ``progress``) and finished, with presigned GETs of its result and
of its rejected rows. Files go up and come down through presigned URLs only.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from dal.jobs import records
from dal.models import Entity
from dal.storage.objects import Ticket
from dal.timefmt import utcnow
from resolvers import jobs
from resolvers.context import Info
from resolvers.periods import Period
from schema.documents import UploadTicket
from schema.relay import Connection, Edge, PageInfo

JobKind = strawberry.enum(records.JobKind)
JobStatus = strawberry.enum(records.JobStatus)
From = Annotated[date, strawberry.argument(name="from")]


@strawberry.enum
class DataEntity(enum.Enum):
    CUSTOMER = Entity.CUSTOMER
    CONTACT = Entity.CONTACT
    OPPORTUNITY = Entity.OPPORTUNITY
    ACTIVITY = Entity.ACTIVITY


@strawberry.enum
class FileFormat(enum.StrEnum):
    CSV = "CSV"
    JSON = "JSON"


@strawberry.enum
class ReportKind(enum.StrEnum):
    PIPELINE = "PIPELINE"
    FORECAST = "FORECAST"
    SALES = "SALES"
    ACQUISITION = "ACQUISITION"
    CONVERSION = "CONVERSION"
    ACTIVITY = "ACTIVITY"


@strawberry.type
class Job:
    id: strawberry.ID
    kind: records.JobKind
    status: records.JobStatus
    total: int | None
    processed: int
    failed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    message: str | None
    record: strawberry.Private[records.Job]

    @strawberry.field
    def progress(self) -> float | None:
        """0..1 once the total is known."""
        if not self.total:
            return 1.0 if self.status is records.JobStatus.SUCCEEDED else None
        return round(min(self.processed / self.total, 1.0), 4)

    @strawberry.field
    async def result_url(self, info: Info) -> str | None:
        """A presigned GET of the result file (short-lived)."""
        content = "text/csv" if self.record.params.get("format") == "CSV" else "application/json"
        return await jobs.url(info, self.record, self.record.result_key, content)

    @strawberry.field
    async def error_url(self, info: Info) -> str | None:
        """A presigned GET of the rejected rows, each with its reason."""
        return await jobs.url(info, self.record, self.record.error_key, "text/csv")

    @classmethod
    def of(cls, job: records.Job) -> Job:
        return cls(
            id=strawberry.ID(job.id),
            kind=job.kind,
            status=job.status,
            total=job.total,
            processed=job.processed,
            failed=job.failed,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            message=job.message,
            record=job,
        )


def _ticket(key: str, ticket: Ticket, seconds: int) -> UploadTicket:
    return UploadTicket(
        key=key,
        url=ticket.url,
        fields=cast(JSON, dict(ticket.fields)),
        expires_at=utcnow() + timedelta(seconds=seconds),
    )


@strawberry.type
class JobQuery:
    @strawberry.field
    async def job(self, info: Info, id: strawberry.ID) -> Job | None:
        found = await jobs.job(info, id)
        return None if found is None else Job.of(found)

    @strawberry.field
    async def jobs(
        self,
        info: Info,
        kind: records.JobKind | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Job]:
        found, cursors, more = await jobs.jobs(info, kind, first, after)
        edges = [Edge(node=Job.of(j), cursor=c) for j, c in zip(found, cursors, strict=True)]
        end = cursors[-1] if cursors else None
        return Connection(edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=end))


@strawberry.type
class JobMutation:
    @strawberry.mutation
    async def request_import_upload(
        self, info: Info, entity: DataEntity, file_name: str, size: int
    ) -> UploadTicket:
        key, ticket, seconds = await jobs.request_import_upload(info, entity.value, file_name, size)
        return _ticket(key, ticket, seconds)

    @strawberry.mutation
    async def start_import(
        self, info: Info, entity: DataEntity, key: str, dry_run: bool | None = False
    ) -> Job:
        return Job.of(await jobs.start_import(info, entity.value, key, bool(dry_run)))

    @strawberry.mutation
    async def start_export(
        self, info: Info, entity: DataEntity, format: FileFormat | None = FileFormat.CSV
    ) -> Job:
        fmt = (format or FileFormat.CSV).value
        return Job.of(await jobs.start_export(info, entity.value, fmt))

    @strawberry.mutation
    async def generate_report(
        self,
        info: Info,
        kind: ReportKind,
        from_: From,
        to: date,
        period: Period | None = Period.MONTH,
        format: FileFormat | None = FileFormat.CSV,
    ) -> Job:
        fmt, every = (format or FileFormat.CSV).value, period or Period.MONTH
        return Job.of(await jobs.generate_report(info, kind.value, from_, to, every, fmt))

    @strawberry.mutation
    async def cancel_job(self, info: Info, id: strawberry.ID) -> Job:
        return Job.of(await jobs.cancel_job(info, id))
