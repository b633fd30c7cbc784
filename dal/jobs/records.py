"""A job's record: what it was asked to do, by whom, how far it got.

One partition per tenant (``{t}#jobs``), sort key the job id: ids are ULIDs, so
the partition read backwards is "newest first", and ``job(id)`` is one GetItem.
``byKind`` (``{t}#jobs#{kind}``) serves ``jobs(kind:)`` without a filter.

A worker holds a job by a lease (``leaseOwner`` until ``leaseUntil``): every
progress write is conditioned on holding it, so a redelivered message cannot
make two workers run one job, and a crashed worker's job is taken over once
its lease runs out, from the checkpoint the last progress write left.
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from dal import ids
from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import Condition, absent, both, owned_by
from dal.dynamodb.items import Item
from dal.dynamodb.tables import JOBS, SORT
from dal.dynamodb.writes import put, set_attrs
from dal.errors import ConditionFailed, NotFound
from dal.records.cursors import CursorCodec
from dal.tenancy.scope import TENANT_ATTR, TenantScope
from dal.timefmt import dump_dt, load_dt, utcnow

JOB_RETENTION_S = 90 * 86_400  # job records are system logs: 90 days (ARCHITECTURE)
# A privacy request is the record that a subject's request was met (and when): kept
# as long as business records, 7 years. It holds ids and counts, never values.
PRIVACY_RETENTION_S = 7 * 366 * 86_400


class JobKind(enum.StrEnum):
    IMPORT = "IMPORT"
    EXPORT = "EXPORT"
    REPORT = "REPORT"
    BACKUP = "BACKUP"
    RESTORE = "RESTORE"
    PRIVACY = "PRIVACY"


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    id: str
    kind: JobKind
    status: JobStatus
    params: dict[str, Any]  # what it was asked (entity, key, format...)
    actor: str  # the user who started it: it runs as them,
    role: str  # with the role of the token that started it
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    total: int | None = None
    processed: int = 0
    failed: int = 0
    checkpoint: dict[str, Any] = field(default_factory=dict)  # where a resumed run starts
    cancel_requested: bool = False
    result_key: str | None = None
    error_key: str | None = None
    message: str | None = None
    attempts: int = 0  # runs started (a redelivery after a crash adds one)
    receipt: dict[str, Any] | None = None  # an erasure's: per store, what went


@dataclass(frozen=True, slots=True)
class Progress:
    """What a checkpoint records; ``checkpoint`` is where a resumed run starts."""

    processed: int
    failed: int
    checkpoint: dict[str, Any]
    total: int | None = None


class Lost(Exception):
    """The lease is no longer this worker's (it ran out and another took the job)."""


def _ms() -> int:
    return time.time_ns() // 1_000_000  # leases in ms: DynamoDB numbers take no floats


def new_id() -> str:
    return f"job_{ids.ulid()}"


class JobStore:
    def __init__(self, dynamo: Dynamo, scope: TenantScope, cursors: CursorCodec) -> None:
        self.dynamo, self.scope, self.cursors = dynamo, scope, cursors
        self.table = scope.table(JOBS.entity)
        self.pk = scope.key("jobs")

    async def create(self, job: Job) -> Job:
        await self.dynamo.write([put(self.table, self._item(job), absent())])
        return job

    async def get(self, job_id: str) -> Job | None:
        item = await self.dynamo.get(self.table, self.pk, job_id)
        return _job(item) if item is not None and self.scope.owns(item) else None

    async def page(
        self, kind: JobKind | None, first: int, after: str | None
    ) -> tuple[list[Job], list[str], bool]:
        """Newest first: the jobs, each one's cursor, and whether more follow. A cursor
        is signed for this tenant and this ``kind`` (``CursorCodec``)."""
        bound = "" if kind is None else kind.value
        start = None
        if after is not None:
            at = self.cursors.decode(self.scope.tenant_id, "jobs", after, bound=bound).position
            start = {"pk": self.pk, SORT: at["id"]}
            if kind is not None:
                start["kindKey"] = self.scope.key("jobs", kind.value)
        index = None if kind is None else "byKind"
        key = ("pk", self.pk) if kind is None else ("kindKey", self.scope.key("jobs", kind.value))
        items, _ = await self.dynamo.query(
            self.table, index, key, limit=first + 1, start=start, forward=False
        )
        jobs = [_job(i) for i in items[:first] if self.scope.owns(i)]
        sign = self.cursors.encode
        cursors = [sign(self.scope.tenant_id, "jobs", {"id": j.id}, bound=bound) for j in jobs]
        return jobs, cursors, len(items) > first

    async def claim(self, job: Job, worker: str, lease_s: float) -> Job:
        """Take the job for ``worker``: it is QUEUED, or RUNNING under a lease that ran out."""
        now = _ms()
        free = Condition(
            "#st = :queued OR (#st = :running AND #lu < :now)",
            {"#st": "status", "#lu": "leaseUntil"},
            {":queued": JobStatus.QUEUED.value, ":running": JobStatus.RUNNING.value, ":now": now},
        )
        attrs = {
            "status": JobStatus.RUNNING.value,
            "leaseOwner": worker,
            "leaseUntil": now + int(lease_s * 1000),
            "attempts": job.attempts + 1,
            "startedAt": dump_dt(job.started_at or utcnow()),
        }
        return await self._set(attrs, both(free, owned_by(self.scope.tenant_id)), job.id)

    async def progress(self, job_id: str, worker: str, lease_s: float, made: Progress) -> Job:
        """Record a checkpoint and renew the lease; the job as it now is (has it been
        cancelled?). Lost when the lease is another worker's."""
        attrs = {
            "processed": made.processed,
            "failed": made.failed,
            "checkpoint": made.checkpoint,
            "total": made.total,
            "leaseUntil": _ms() + int(lease_s * 1000),
        }
        return await self._held(job_id, worker, attrs)

    async def finish(self, job_id: str, worker: str | None, status: JobStatus, **attrs: Any) -> Job:
        """The terminal state; ``worker`` None: no lease to hold (cancelled while queued)."""
        # A finished job resumes nowhere: its checkpoint goes (an erasure's holds the
        # values it searched for, which must not outlive it).
        done: dict[str, Any] = {"status": status.value, "finishedAt": dump_dt(utcnow())}
        done["leaseOwner"] = None
        done["checkpoint"] = {}
        done.update(_attrs(attrs))
        if worker is None:
            queued = Condition("#st = :queued", {"#st": "status"}, {":queued": "QUEUED"})
            return await self._set(done, both(queued, owned_by(self.scope.tenant_id)), job_id)
        return await self._held(job_id, worker, done)

    async def request_cancel(self, job_id: str) -> Job:
        running = Condition("#st = :running", {"#st": "status"}, {":running": "RUNNING"})
        flag = {"cancelRequested": True}
        return await self._set(flag, both(running, owned_by(self.scope.tenant_id)), job_id)

    async def _held(self, job_id: str, worker: str, attrs: dict[str, Any]) -> Job:
        mine = Condition("#lo = :me", {"#lo": "leaseOwner"}, {":me": worker})
        try:
            return await self._set(attrs, both(mine, owned_by(self.scope.tenant_id)), job_id)
        except ConditionFailed as exc:
            raise Lost(job_id) from exc

    async def _set(self, attrs: dict[str, Any], condition: Condition, job_id: str) -> Job:
        op = set_attrs(self.table, self.pk, job_id, attrs, condition)
        item = await self.dynamo.update(op)
        if not item:
            raise NotFound(job_id)
        return _job(item)

    def _item(self, job: Job) -> Item:
        return {
            "pk": self.pk,
            SORT: job.id,
            TENANT_ATTR: self.scope.tenant_id,
            "kindKey": self.scope.key("jobs", job.kind.value),
            "kind": job.kind.value,
            "status": job.status.value,
            "params": job.params,
            "actor": job.actor,
            "role": job.role,
            "createdAt": dump_dt(job.created_at),
            "processed": 0,
            "failed": 0,
            "checkpoint": {},
            "attempts": 0,
            "expiresAt": int(time.time() + _retention(job.kind)),
        }


def _number(value: Any) -> Any:
    """A number DynamoDB handed back (a checkpoint's counts are Decimals)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _retention(kind: JobKind) -> float:
    return PRIVACY_RETENTION_S if kind is JobKind.PRIVACY else JOB_RETENTION_S


def _attrs(given: dict[str, Any]) -> dict[str, Any]:
    names = {"result_key": "resultKey", "error_key": "errorKey", "message": "message"}
    names |= {"processed": "processed", "failed": "failed", "total": "total"}
    names |= {"receipt": "receipt", "checkpoint": "checkpoint"}
    out = {names[k]: v for k, v in given.items()}
    if out.get("receipt") is not None:  # text: counts come back as ints, not Decimals
        out["receipt"] = json.dumps(out["receipt"], sort_keys=True, default=_number)
    return out


def _time(item: Item, name: str) -> datetime | None:
    value = item.get(name)
    return load_dt(value) if value else None


def _job(item: Item) -> Job:
    total = item.get("total")
    return Job(
        id=item[SORT],
        kind=JobKind(item["kind"]),
        status=JobStatus(item["status"]),
        params=dict(item.get("params") or {}),
        actor=item["actor"],
        role=item["role"],
        created_at=load_dt(item["createdAt"]),
        started_at=_time(item, "startedAt"),
        finished_at=_time(item, "finishedAt"),
        total=None if total is None else int(total),
        processed=int(item.get("processed", 0)),
        failed=int(item.get("failed", 0)),
        checkpoint=dict(item.get("checkpoint") or {}),
        cancel_requested=bool(item.get("cancelRequested", False)),
        result_key=item.get("resultKey"),
        error_key=item.get("errorKey"),
        message=item.get("message"),
        attempts=int(item.get("attempts", 0)),
        receipt=json.loads(item["receipt"]) if item.get("receipt") else None,
    )
