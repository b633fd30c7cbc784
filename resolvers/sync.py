"""Mobile sync: pages of changes out, a device's queued mutations in.

A pushed mutation is applied through the API's own mutations (executed against
this schema with the caller's context), so it gets exactly their validation,
permissions and error codes; its receipt rides the same DynamoDB transaction
(``dal.sync.journal.Rider``). Conflict rules: ``dal.sync.merge``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dal import ids
from dal.errors import InvalidCursor
from dal.models import Entity
from dal.sync import merge
from dal.sync.changes import Change, Op
from dal.sync.history import History
from dal.sync.journal import Rider
from dal.sync.merge import Strategy
from dal.sync.pull import Puller, SyncPage
from dal.sync.receipts import Receipts, digest
from resolvers import policy
from resolvers.context import Info
from resolvers.errors import BadUserInput
from resolvers.sync_ops import Kind, Outcome, execute
from resolvers.validation import MAX_JSON_DEPTH, bounded

PUSHABLE = (Entity.CUSTOMER, Entity.CONTACT, Entity.OPPORTUNITY, Entity.ACTIVITY)
MAX_PUSH = 100  # mutations per push (README, "Limits")
MAX_CHANGES_CHARS = 64 * 1024  # one mutation's fields; each field has its own, smaller limit
# Another user's fields that need a permission, and the action that grants each.
PRIVATE_USER_FIELDS = {
    "permissions": "user.read.permissions",
    "preferences": "user.read.preferences",
}
APPLY_ATTEMPTS = 3  # another writer got in between the read and the write
# Codes of failures that say nothing about the mutation: no receipt, the device retries.
TRANSIENT = frozenset({"UNAVAILABLE", "INTERNAL_SERVER_ERROR"})


@dataclass(frozen=True, slots=True)
class Pushed:
    client_mutation_id: str
    entity: Entity
    op: Op
    id: str
    base_version: int | None
    changes: dict[str, Any]
    changed_at: datetime | None

    def payload(self) -> dict[str, Any]:
        return {
            "entity": self.entity.value,
            "op": self.op.value,
            "id": self.id,
            "baseVersion": self.base_version,
            "changes": self.changes,
            "changedAt": None if self.changed_at is None else self.changed_at.isoformat(),
        }


@dataclass
class Result:
    client_mutation_id: str
    outcome: Outcome
    id: str
    version: int | None = None
    record: dict[str, Any] | None = None
    error_code: str | None = None
    message: str | None = None
    conflicts: list[str] = field(default_factory=list)
    replayed: bool = False
    retryable: bool = False  # not stored: push it again (the store was unavailable, ...)

    def stored(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "id": self.id,
            "version": self.version,
            "record": self.record,
            "errorCode": self.error_code,
            "message": self.message,
            "conflicts": self.conflicts,
        }

    @classmethod
    def replay(cls, mutation_id: str, stored: dict[str, Any]) -> Result:
        return cls(
            mutation_id,
            Outcome(stored["outcome"]),
            stored["id"],
            stored.get("version"),
            stored.get("record"),
            stored.get("errorCode"),
            stored.get("message"),
            list(stored.get("conflicts") or []),
            replayed=True,
        )


# -- pull ----------------------------------------------------------------------
async def pull(
    info: Info, since: str | None, entities: list[Entity] | None, first: int
) -> SyncPage:
    ctx = info.context
    retention = ctx.repos.journal.retention_s
    try:
        page = await Puller(ctx.repos, retention).page(since, tuple(entities or ()), first)
    except InvalidCursor as exc:  # edited, another tenant's, or another `entities` filter
        raise BadUserInput(
            f"invalid cursor: {exc} (same entities as when it was issued?)", "since"
        ) from exc
    hidden = await _hidden_user_fields(info)
    changes = [_visible(info, c, hidden) for c in page.changes]
    if ctx.repos.audit_reads:
        _note_reads(info, changes)
    return SyncPage(changes, page.cursor, page.has_more, page.full)


PERSONAL = {
    Entity.CONTACT: frozenset({"firstName", "lastName", "email", "phone", "position", "details"}),
    Entity.USER: frozenset({"email", "preferences"}),
}


def _note_reads(info: Info, changes: list[Change]) -> None:
    """A sync page hands out records as JSON: its personal fields are reads too, for a
    tenant that audits them (the fields the GraphQL types audit, ``read_audit``)."""
    for change in changes:
        read = PERSONAL.get(change.entity, frozenset()) & (change.record or {}).keys()
        if read:
            key = (change.entity.value, change.id)
            info.context.reads.setdefault(key, set()).update(read)


async def _hidden_user_fields(info: Info) -> frozenset[str]:
    """Another user's fields the caller may not read: the ``User`` type's rules."""
    hidden = [
        name
        for name, action in PRIVATE_USER_FIELDS.items()
        if await policy.scope(info, action) is not policy.Scope.ANY
    ]
    return frozenset(hidden)


def _visible(info: Info, change: Change, hidden: frozenset[str]) -> Change:
    """A USER record without the fields the caller may not see on another user."""
    if change.entity is not Entity.USER or change.record is None or not hidden:
        return change
    if change.id == info.context.principal.user_id:
        return change
    kept = {k: v for k, v in change.record.items() if k not in hidden}
    return Change(change.entity, change.id, change.op, change.version, change.changed_at, kept)


# -- push ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Plan:
    """A write to make: which mutation, with what, on which version."""

    kind: Kind
    changes: dict[str, Any]
    expected: int | None
    outcome: Outcome
    conflicts: tuple[str, ...] = ()


async def push(
    info: Info, client_id: str, mutations: list[Pushed], strategy: Strategy | None
) -> list[Result]:
    if _claimed(info):
        raise BadUserInput(
            "send syncPush without an Idempotency-Key: a push is idempotent by clientId "
            "and clientMutationId, and one answer kept for a key would hide the retryable "
            "results a device must push again",
            "Idempotency-Key",
        )
    if not ids.well_formed(client_id):
        raise BadUserInput("clientId must be 1-64 characters of A-Z a-z 0-9 _ -", "clientId")
    if len(mutations) > MAX_PUSH:
        raise BadUserInput(f"at most {MAX_PUSH} mutations per push", "mutations")
    for m in mutations:  # before the receipt digest walks them (one level: the fields)
        bounded("mutations", m.changes, MAX_JSON_DEPTH + 1, MAX_CHANGES_CHARS)
    chosen = strategy or info.context.repos.sync_strategy
    # In order, one at a time: a later mutation may depend on an earlier one.
    return [await _one(info, client_id, m, chosen) for m in mutations]


async def _one(info: Info, client_id: str, m: Pushed, strategy: Strategy) -> Result:
    if not ids.well_formed(m.client_mutation_id):
        return _rejected(m, "BAD_USER_INPUT", "clientMutationId must be 1-64 of A-Z a-z 0-9 _ -")
    receipts = _receipts(info)
    wanted = digest(m.payload())
    found = await receipts.find(client_id, m.client_mutation_id)
    if found is not None:
        return _replayed(m, found.digest, wanted, found.result)
    result, stored = await _applied(info, client_id, m, strategy, wanted)
    if stored or result.retryable:  # a transient failure is not the answer to keep
        return result
    # Nothing committed to carry the receipt: stored alone (a racing replay wins).
    if await receipts.store(client_id, m.client_mutation_id, wanted, result.stored()):
        return result
    again = await receipts.find(client_id, m.client_mutation_id)
    return result if again is None else _replayed(m, again.digest, wanted, again.result)


def _claimed(info: Info) -> bool:
    """Whether an Idempotency-Key's claim waits to ride the request's next write
    (``edge.idempotency``): the push's own receipts would ride in its place."""
    return info.context.repos.journal.rider is not None


def _receipts(info: Info) -> Receipts:
    ctx = info.context
    journal = ctx.repos.journal
    return Receipts(journal.dynamo, journal.scope, journal.retention_s, ctx.principal.user_id)


def _replayed(m: Pushed, stored: str, wanted: str, result: dict[str, Any]) -> Result:
    if stored != wanted:
        message = "clientMutationId was used before for a different mutation"
        return _rejected(m, "BAD_USER_INPUT", message)
    return Result.replay(m.client_mutation_id, result)


def _rejected(m: Pushed, code: str, message: str) -> Result:
    return Result(m.client_mutation_id, Outcome.REJECTED, m.id, error_code=code, message=message)


async def _applied(
    info: Info, client_id: str, m: Pushed, strategy: Strategy, wanted: str
) -> tuple[Result, bool]:
    """The mutation's result, and whether its receipt was committed with its write."""
    if m.entity not in PUSHABLE:
        names = ", ".join(e.name for e in PUSHABLE)
        return _rejected(m, "BAD_USER_INPUT", f"a push changes {names} only"), False
    repo = info.context.repos.of(m.entity)
    if not repo.plausible(m.id):
        return _rejected(m, "BAD_USER_INPUT", f"id: {ids.expected_form(m.entity)}"), False
    for _ in range(APPLY_ATTEMPTS):
        current = await repo.get(m.id)
        plan = await _plan(info, m, current, strategy)
        if isinstance(plan, Result):
            return plan, False
        applied = await _write(info, client_id, m, plan, wanted)
        if applied is not None:
            return applied
    kept_changing = _rejected(m, "UNAVAILABLE", "the record kept changing; push again")
    return replace(kept_changing, retryable=True), False


async def _plan(info: Info, m: Pushed, current: Any, strategy: Strategy) -> Plan | Result:
    if current is None:
        return _on_missing(m)
    server = info.context.repos.of(m.entity).codec.public(current)
    if m.base_version is None and m.op is Op.UPSERT:
        return _rejected(m, "BAD_USER_INPUT", "a record with this id already exists")
    base = current.version if m.base_version is None else m.base_version
    if base > current.version:  # the id was deleted and created again since the device saw it
        return _conflict(m, server, tuple(m.changes), "the record was deleted and created again")
    kind = Kind.UPDATE if m.op is Op.UPSERT else Kind.DELETE
    if base == current.version:
        return Plan(kind, m.changes, base, Outcome.APPLIED)
    return await _stale(info, m, kind, current, server, strategy)


def _on_missing(m: Pushed) -> Plan | Result:
    if m.op is Op.DELETE:  # already gone: what the device wanted
        return Result(m.client_mutation_id, Outcome.APPLIED, m.id)
    if m.base_version is None:
        return Plan(Kind.CREATE, m.changes, None, Outcome.APPLIED)
    return _conflict(m, None, tuple(m.changes), "the record was deleted on the server")


async def _stale(
    info: Info, m: Pushed, kind: Kind, current: Any, server: dict[str, Any], strategy: Strategy
) -> Plan | Result:
    """The device edited an older version: the strategy decides (``dal.sync.merge``)."""
    lost, version, born = tuple(m.changes), current.version, current.created_at
    if strategy is Strategy.OPTIMISTIC:
        return _conflict(m, server, lost, "the record changed since baseVersion")
    repos = info.context.repos
    history = await History(repos.journal.dynamo, repos.scope).since(
        m.id, born, m.base_version or 0, version
    )
    if history is None:  # the index behind (or too far behind): a retry may merge
        message = "the record's history since baseVersion is not available yet; push again"
        return replace(_conflict(m, server, lost, message), retryable=True)
    if kind is Kind.DELETE:
        if merge.delete_wins(strategy, history, m.changed_at):
            return Plan(kind, {}, version, Outcome.APPLIED)
        return _conflict(m, server, (), "the record changed after the device deleted it")
    merged = merge.merge(strategy, m.changes, server, history, m.changed_at)
    if not merged.apply:
        return _conflict(m, server, merged.lost, "every field was changed on the server too")
    return Plan(kind, merged.apply, version, Outcome.MERGED, merged.lost)


def _conflict(m: Pushed, server: Any, lost: tuple[str, ...], message: str) -> Result:
    version = None if server is None else server.get("version")
    return Result(
        m.client_mutation_id,
        Outcome.CONFLICT,
        m.id,
        version,
        server,
        message=message,
        conflicts=list(lost),
    )


async def _write(
    info: Info, client_id: str, m: Pushed, plan: Plan, wanted: str
) -> tuple[Result, bool] | None:
    """Run the plan with the receipt riding its transaction; None: lost a race."""
    journal = info.context.repos.journal
    receipts = _receipts(info)

    def receipt(change: Change | None) -> dict[str, Any]:
        done = _done(m, plan, change)
        return receipts.put(client_id, m.client_mutation_id, wanted, done.stored())

    journal.rider, journal.last = Rider(receipt, m.changed_at), None
    try:
        applied = await execute(info, m.entity, plan.kind, m.id, plan.changes, plan.expected)
    finally:
        rode = journal.rider is None
        journal.rider = None
    if applied.replayed:
        found = await receipts.find(client_id, m.client_mutation_id)
        if found is not None:
            return _replayed(m, found.digest, wanted, found.result), True
    if applied.raced:
        return None
    if not applied.ok:
        code = applied.code or "INTERNAL_SERVER_ERROR"
        rejected = _rejected(m, code, applied.message or "")
        return replace(rejected, retryable=code in TRANSIENT), False
    return _done(m, plan, journal.last), rode


def _done(m: Pushed, plan: Plan, change: Change | None) -> Result:
    version = None if change is None else change.version
    record = None if change is None else change.record
    return Result(
        m.client_mutation_id, plan.outcome, m.id, version, record, conflicts=list(plan.conflicts)
    )
