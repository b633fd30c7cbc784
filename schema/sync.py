"""Mobile sync types: pages of changes, and a device's queued mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from dal.models import Entity
from dal.sync.changes import Change as ChangeRecord
from dal.sync.changes import Op
from dal.sync.merge import Strategy
from dal.sync.pull import SyncPage as PageRecord
from dal.timefmt import to_utc
from resolvers import sync
from resolvers.context import Info
from resolvers.errors import BadUserInput
from resolvers.sync_ops import Outcome
from schema.cost import ListSize

# The data layer's enums under the contract's names (their member names are the values).
for _enum, _name in (
    (Entity, "SyncEntity"),
    (Op, "ChangeOp"),
    (Strategy, "ConflictStrategy"),
    (Outcome, "SyncOutcome"),
):
    strawberry.enum(_enum, name=_name)
MAX_SYNC_PAGE = 1000  # changes per page (README, "Limits")


@strawberry.type
class Change:
    entity: Entity
    id: strawberry.ID
    op: Op
    version: int
    changed_at: datetime
    record: JSON | None = strawberry.field(description="API field names; null for DELETE")

    @classmethod
    def of(cls, c: ChangeRecord) -> Change:
        return cls(
            entity=c.entity,
            id=strawberry.ID(c.id),
            op=c.op,
            version=c.version,
            changed_at=c.changed_at,
            record=c.record,  # type: ignore[arg-type]
        )


@strawberry.type
class SyncPage:
    changes: list[Change] = strawberry.field(directives=[ListSize(assumed_size=MAX_SYNC_PAGE)])
    cursor: str = strawberry.field(description="pass back as `since`")
    has_more: bool
    full: bool = strawberry.field(description="part of a full sync (since was null)")

    @classmethod
    def of(cls, page: PageRecord) -> SyncPage:
        changes = [Change.of(c) for c in page.changes]
        return cls(changes=changes, cursor=page.cursor, has_more=page.has_more, full=page.full)


@strawberry.input
class SyncMutation:
    client_mutation_id: strawberry.ID
    entity: Entity
    op: Op
    id: strawberry.ID
    base_version: int | None = None
    changes: JSON | None = None
    changed_at: datetime | None = None

    def pushed(self) -> sync.Pushed:
        changes: object = self.changes if self.changes is not None else {}
        if not isinstance(changes, dict):
            raise BadUserInput("changes must be an object of field names", "changes")
        return sync.Pushed(
            str(self.client_mutation_id),
            self.entity,
            self.op,
            str(self.id),
            self.base_version,
            changes,
            None if self.changed_at is None else to_utc(self.changed_at),
        )


@strawberry.input
class SyncPushInput:
    client_id: strawberry.ID
    mutations: list[SyncMutation]
    strategy: Strategy | None = None


@strawberry.type
class SyncResult:
    client_mutation_id: strawberry.ID
    outcome: Outcome
    id: strawberry.ID
    version: int | None
    record: JSON | None
    error_code: str | None
    message: str | None
    conflicts: list[str] = strawberry.field(
        description="the device's fields the server's values beat (MERGED, CONFLICT)"
    )
    replayed: bool
    retryable: bool = strawberry.field(
        description="a transient failure, not kept: push the mutation again later"
    )

    @classmethod
    def of(cls, r: sync.Result) -> SyncResult:
        return cls(
            client_mutation_id=strawberry.ID(r.client_mutation_id),
            outcome=r.outcome,
            id=strawberry.ID(r.id),
            version=r.version,
            record=r.record,  # type: ignore[arg-type]
            error_code=r.error_code,
            message=r.message,
            conflicts=r.conflicts,
            replayed=r.replayed,
            retryable=r.retryable,
        )


@strawberry.type
class SyncPushPayload:
    results: list[SyncResult] = strawberry.field(directives=[ListSize(assumed_size=sync.MAX_PUSH)])


async def sync_page(
    info: Info, since: str | None, entities: list[Entity] | None, first: int
) -> SyncPage:
    if not 1 <= first <= MAX_SYNC_PAGE:
        raise BadUserInput(f"first must be between 1 and {MAX_SYNC_PAGE}", "first")
    return SyncPage.of(await sync.pull(info, since, entities, first))


async def sync_push(info: Info, input: SyncPushInput) -> SyncPushPayload:
    mutations = [m.pushed() for m in input.mutations]
    results = await sync.push(info, str(input.client_id), mutations, input.strategy)
    return SyncPushPayload(results=[SyncResult.of(r) for r in results])
