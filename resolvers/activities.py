"""Activity reads and writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from dal import ids
from dal.ids import new_id
from dal.models import Activity, ActivityType, Contact, Customer, Entity, Opportunity, Page
from dal.records.activity_query import ActivityQuery, Window
from dal.timefmt import dump_dt, to_utc
from resolvers import policy
from resolvers.context import Info
from resolvers.errors import BadUserInput
from resolvers.loaders import PageKey
from resolvers.pagination import page_size
from resolvers.validation import (
    existing_id,
    keep,
    moment,
    not_null,
    record_id,
    relatable_id,
    text,
    user_id,
    validate,
)
from resolvers.writes import delete_record, update_record

FIELDS = {
    "type": ("type", not_null(keep)),
    "subject": ("subject", not_null(text(200, required=True))),
    "description": ("description", text(1000)),
    "scheduled_at": ("scheduledAt", moment),
    "completed_at": ("completedAt", moment),
    "owner_id": ("ownerId", user_id),
}
CREATE = {k: v for k, v in FIELDS.items() if k != "completed_at"} | {
    "id": ("id", record_id(Entity.ACTIVITY)),
    "related_id": ("relatedId", not_null(relatable_id)),
}


async def activity(info: Info, id: str) -> Activity | None:
    return await info.context.loaders.activity_by_id.load(id)


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else dump_dt(value)


async def activities(
    info: Info,
    first: int | None,
    after: str | None,
    *,
    owner_id: str | None = None,
    related_id: str | None = None,
    type: ActivityType | None = None,
    scheduled: tuple[datetime | None, datetime | None] = (None, None),
    overdue: bool | None = None,
    completed_since: datetime | None = None,
) -> Page[Activity]:
    low, high = scheduled
    if low and high and low > high:
        raise BadUserInput("scheduledFrom is after scheduledTo", field="scheduledFrom")
    query = ActivityQuery(
        owner_id=owner_id,
        related_id=related_id,
        type=type,
        window=Window(_stamp(low), _stamp(high)),
        overdue=overdue,
        completed_since=_stamp(completed_since),
    )
    ctx = info.context
    return await ctx.repos.activities.find(query, dump_dt(ctx.now), page_size(info, first), after)


async def create_activity(info: Info, values: dict[str, Any]) -> Activity:
    """The related record's kind comes from its id; that it exists (in this tenant)
    is a condition of the write, so a role refused outright hears FORBIDDEN
    whatever ``relatedId`` names."""
    v = validate(values, CREATE)
    ctx = info.context
    record = Activity(
        id=v.pop("id", None) or new_id(Entity.ACTIVITY),
        related_type=_related_type(v["related_id"]),
        owner_id=v.pop("owner_id", None) or ctx.principal.user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
        **v,
    )
    await policy.require_write(info, "activity.create", record)
    return await ctx.repos.activities.create(record)


async def update_activity(
    info: Info, id: str, changes: dict[str, Any], expected_version: int | None
) -> Activity:
    existing_id(Entity.ACTIVITY, id)
    v = validate(changes, FIELDS)
    repo = info.context.repos.activities
    return await update_record(info, "activity.update", repo, id, v, expected_version)


def _related_type(related: str) -> Entity:
    kind = ids.entity_of(related)
    if kind is None:  # validated above; a guard, not a path
        raise BadUserInput("relatedId names no record", "relatedId")
    return kind


async def complete_activity(info: Info, id: str, completed_at: datetime | None) -> Activity:
    existing_id(Entity.ACTIVITY, id)
    when = to_utc(completed_at) if completed_at else info.context.now
    repo = info.context.repos.activities
    change = {"completed_at": when}
    version = await policy.require_existing(info, "activity.complete", repo, id, None, change)
    return await repo.update(id, lambda a: replace(a, completed_at=when), version)


async def delete_activity(info: Info, id: str, expected_version: int | None) -> str:
    existing_id(Entity.ACTIVITY, id)
    repo = info.context.repos.activities
    return await delete_record(info, "activity.delete", repo, id, expected_version)


async def of_related(
    info: Info,
    related_id: str,
    first: int | None,
    after: str | None,
    upcoming: bool | None = None,
) -> Page[Activity]:
    """A record's activities by schedule; ``upcoming``: only from now on (or only before),
    "now" being the first page's on every later page."""
    key = PageKey(related_id, page_size(info, first), after, window=Window(upcoming=upcoming))
    return await info.context.loaders.activities_by_related.load(key)


async def of_owner(
    info: Info,
    owner_id: str,
    first: int | None,
    after: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Page[Activity]:
    window = Window(_stamp(start), _stamp(end))
    key = PageKey(owner_id, page_size(info, first), after, window=window)
    return await info.context.loaders.activities_by_owner.load(key)


async def related(info: Info, a: Activity) -> Customer | Contact | Opportunity | None:
    loaders = info.context.loaders
    if a.related_type is Entity.CUSTOMER:
        return await loaders.customer_by_id.load(a.related_id)
    if a.related_type is Entity.CONTACT:
        return await loaders.contact_by_id.load(a.related_id)
    return await loaders.opportunity_by_id.load(a.related_id)
