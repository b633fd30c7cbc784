"""Auditing reads of personal fields, for tenants that ask for it (``auditReads``).

The personal fields of Contact and User carry ``AuditedRead``: resolving one
notes (type, id, field) in the request's context when the tenant audits reads,
and costs a flag test when it does not. ``ReadAudit`` writes what a request
noted once it has executed: one audit event per record, its field names, never
values (``dal/privacy/audit.py``). A document selecting such a field is never
served whole from the response cache (``cache_policy.py``), so no read skips this.

Events that could not be written are never silent: a log line and the metric
``zebros_audit_read_events_unwritten``; and for a tenant that requires its reads
recorded (``zebros privacy audit-reads --tenant T required``) the answer is
withheld: 503 UNAVAILABLE, no data.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import strawberry
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.types import Info as AnyInfo

from dal.errors import DalError
from dal.models import Entity
from observe.record import current
from resolvers.context import Context
from resolvers.errors import Unavailable

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Callable[..., Any])


class AuditedRead(FieldExtension):
    def __init__(self, entity: Entity) -> None:
        self.entity = entity.value  # stored as the change log names entities

    def _note(self, source: Any, info: AnyInfo, value: Any) -> Any:
        ctx = info.context
        if value is not None and isinstance(ctx, Context) and ctx.repos.audit_reads:
            ctx.reads.setdefault((self.entity, str(source.id)), set()).add(info.field_name)
        return value

    def resolve(self, next_: Callable[..., Any], source: Any, info: AnyInfo, **kwargs: Any) -> Any:
        return self._note(source, info, next_(source, info, **kwargs))

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: AnyInfo, **kwargs: Any
    ) -> Any:
        return self._note(source, info, await next_(source, info, **kwargs))


class ReadAudit(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context.context
        if not isinstance(ctx, Context) or not ctx.reads:
            return
        reads, ctx.reads = ctx.reads, {}
        try:
            await ctx.repos.audit.record_reads(ctx.principal.user_id, ctx.request_id, reads)
        except DalError as exc:
            _unwritten(ctx, len(reads), exc)
            if ctx.repos.audit_reads_required:  # compliance: no answer without its record
                raise Unavailable() from exc


def _unwritten(ctx: Context, count: int, exc: DalError) -> None:
    """Never silent: a log line and a metric (an operator alerts on either). The answer
    stands unless the tenant requires its reads recorded (``auditReadsRequired``)."""
    log.error(
        "audit: %d read events of tenant %s not written (%s: %s)",
        count, ctx.repos.scope.tenant_id, type(exc).__name__, exc,
    )  # fmt: skip
    record = current()
    if record is not None and record.metrics is not None:
        record.metrics.audit_unwritten(count)


def audited(entity: Entity) -> list[FieldExtension]:
    return [AuditedRead(entity)]


def audited_field(entity: Entity) -> Callable[[R], R]:
    """``@strawberry.field`` on a resolver of a personal field (typed, as cached_field)."""

    def declare(resolver: R) -> R:
        fn: Any = resolver
        return cast(R, strawberry.field(fn, extensions=audited(entity)))

    return declare


def described(text: str) -> Callable[[R], R]:
    """``@strawberry.field`` with a description (typed)."""

    def declare(resolver: R) -> R:
        fn: Any = resolver
        return cast(R, strawberry.field(fn, description=text))

    return declare
