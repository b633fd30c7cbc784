"""Privacy: access and portability exports, erasures with a receipt, the audit log.

Requests are jobs underneath (``job(id)`` shows their progress too); here they
carry the contract's statuses, the subject, the due date and the receipt.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from dal.jobs import records
from dal.privacy import audit
from dal.privacy.subject import SubjectKind
from resolvers import jobs, privacy
from resolvers.context import Info
from schema.read_audit import described
from schema.relay import Connection, Edge, PageInfo

DataSubjectKind = strawberry.enum(SubjectKind, name="DataSubjectKind")
From = Annotated[datetime | None, strawberry.argument(name="from")]


@strawberry.enum
class PrivacyRequestKind(enum.StrEnum):
    ACCESS = "ACCESS"
    ERASURE = "ERASURE"


@strawberry.enum
class PrivacyRequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@strawberry.type
class PrivacyRequest:
    id: strawberry.ID
    kind: PrivacyRequestKind
    subject_kind: SubjectKind
    subject_id: strawberry.ID
    status: PrivacyRequestStatus
    requested_at: datetime
    completed_at: datetime | None
    due_at: datetime = strawberry.field(description="30 days from the request.")
    reason: str | None
    message: str | None
    receipt: JSON | None = strawberry.field(
        description="ERASURE: per store, what was removed or anonymised, and how many items."
    )
    record: strawberry.Private[records.Job]

    @described("ACCESS: a short-lived presigned GET of the zip.")
    async def export_url(self, info: Info) -> str | None:
        return await jobs.url(info, self.record, self.record.result_key, "application/zip")

    @classmethod
    def of(cls, job: records.Job) -> PrivacyRequest:
        p = job.params
        done = job.finished_at if job.status is records.JobStatus.SUCCEEDED else None
        return cls(
            id=strawberry.ID(job.id),
            kind=PrivacyRequestKind(p["kind"]),
            subject_kind=SubjectKind(p["subjectKind"]),
            subject_id=strawberry.ID(p["subjectId"]),
            status=PrivacyRequestStatus(privacy.STATUS[job.status]),
            requested_at=job.created_at,
            completed_at=done,
            due_at=privacy.due_at(job),
            reason=p.get("reason"),
            message=job.message,
            receipt=cast(JSON, job.receipt),
            record=job,
        )


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    at: datetime
    actor_id: strawberry.ID
    action: str
    entity: str
    record_id: strawberry.ID
    request_id: str | None
    fields: list[str] = strawberry.field(
        description="Names of the fields written, never their values."
    )

    @classmethod
    def of(cls, e: audit.AuditEvent) -> AuditEvent:
        return cls(
            id=strawberry.ID(e.id), at=e.at, actor_id=strawberry.ID(e.actor_id),
            action=e.action, entity=e.entity, record_id=strawberry.ID(e.record_id),
            request_id=e.request_id, fields=list(e.fields),
        )  # fmt: skip


def _connection(nodes: list[object], cursors: list[str], more: bool) -> Connection[object]:
    edges = [Edge(node=n, cursor=c) for n, c in zip(nodes, cursors, strict=True)]
    end = cursors[-1] if cursors else None
    return Connection(edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=end))


@strawberry.type
class PrivacyQuery:
    @strawberry.field
    async def privacy_request(self, info: Info, id: strawberry.ID) -> PrivacyRequest | None:
        found = await privacy.privacy_request(info, id)
        return None if found is None else PrivacyRequest.of(found)

    @strawberry.field
    async def privacy_requests(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[PrivacyRequest]:
        found, cursors, more = await privacy.privacy_requests(info, first, after)
        nodes = [PrivacyRequest.of(j) for j in found]
        return cast(Connection[PrivacyRequest], _connection(list(nodes), cursors, more))

    @described("Writes (and audited reads) by record or by actor, newest first; 90 days.")
    async def audit_log(
        self,
        info: Info,
        record_id: strawberry.ID | None = None,
        actor_id: strawberry.ID | None = None,
        from_: From = None,
        to: datetime | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        window = audit.Window(record_id, actor_id, from_, to)
        found, cursors, more = await privacy.audit_log(info, window, first, after)
        nodes = [AuditEvent.of(e) for e in found]
        return cast(Connection[AuditEvent], _connection(list(nodes), cursors, more))


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation
    async def request_data_export(
        self, info: Info, subject_kind: SubjectKind, subject_id: strawberry.ID
    ) -> PrivacyRequest:
        return PrivacyRequest.of(await privacy.request_data_export(info, subject_kind, subject_id))

    @strawberry.mutation
    async def request_erasure(
        self,
        info: Info,
        subject_kind: SubjectKind,
        subject_id: strawberry.ID,
        reason: str | None = None,
    ) -> PrivacyRequest:
        made = await privacy.request_erasure(info, subject_kind, subject_id, reason)
        return PrivacyRequest.of(made)
