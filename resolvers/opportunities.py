"""Opportunity reads and writes, with the stage rules.

- A new opportunity starts as LEAD unless a stage is given.
- Probability defaults to the stage's (below) when not given, also when the
  stage changes in an update without a probability.
- Entering CLOSED_WON/CLOSED_LOST stamps ``closedAt``; leaving clears it.
- The contact, when given, must belong to the opportunity's customer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from dal.ids import new_id
from dal.models import Entity, Opportunity, OpportunityStage, Page
from resolvers import policy
from resolvers.context import Info
from resolvers.errors import BadUserInput
from resolvers.loaders import PageKey
from resolvers.pagination import page_size
from resolvers.validation import (
    existing_id,
    keep,
    money,
    not_null,
    probability,
    record_id,
    text,
    user_id,
    validate,
)
from resolvers.writes import delete_record

S = OpportunityStage
STAGE_PROBABILITY = {
    S.LEAD: 10,
    S.QUALIFIED: 25,
    S.PROPOSAL: 50,
    S.NEGOTIATION: 75,
    S.CLOSED_WON: 100,
    S.CLOSED_LOST: 0,
}
FIELDS = {
    "contact_id": ("contactId", record_id(Entity.CONTACT)),
    "title": ("title", not_null(text(200, required=True))),
    "value": ("value", not_null(money)),
    "stage": ("stage", not_null(keep)),
    "probability": ("probability", not_null(probability)),
    "expected_close_date": ("expectedCloseDate", keep),
    "owner_id": ("ownerId", user_id),
}
CREATE = FIELDS | {
    "id": ("id", record_id(Entity.OPPORTUNITY)),
    "customer_id": ("customerId", not_null(record_id(Entity.CUSTOMER))),
}


async def opportunity(info: Info, id: str) -> Opportunity | None:
    return await info.context.loaders.opportunity_by_id.load(id)


async def opportunities(
    info: Info,
    first: int | None,
    after: str | None,
    *,
    stage: OpportunityStage | None = None,
    owner_id: str | None = None,
    customer_id: str | None = None,
    closing: tuple[date | None, date | None] = (None, None),
) -> Page[Opportunity]:
    window = None
    if closing != (None, None):
        low, high = closing
        window = (
            low.isoformat() if low else "0000-01-01",
            high.isoformat() if high else "9999-12-31",
        )
        if window[0] > window[1]:
            raise BadUserInput("closingFrom is after closingTo", field="closingFrom")
    return await info.context.repos.opportunities.find(
        page_size(info, first),
        after,
        stage=stage,
        owner_id=owner_id,
        customer_id=customer_id,
        closing=window,
    )


async def create_opportunity(info: Info, values: dict[str, Any]) -> Opportunity:
    v = validate(values, CREATE)
    ctx = info.context
    stage = v.pop("stage", None) or S.LEAD
    chance = v.pop("probability", None)
    record = Opportunity(
        id=v.pop("id", None) or new_id(Entity.OPPORTUNITY),
        stage=stage,
        probability=STAGE_PROBABILITY[stage] if chance is None else chance,
        owner_id=v.pop("owner_id", None) or ctx.principal.user_id,
        closed_at=ctx.now if stage.closed else None,
        created_at=ctx.now,
        updated_at=ctx.now,
        **v,
    )
    await policy.require_write(info, "opportunity.create", record)
    # The contact, when given, must be of the same customer: checked by the write.
    return await ctx.repos.opportunities.create(record)


async def update_opportunity(
    info: Info, id: str, changes: dict[str, Any], expected_version: int | None
) -> Opportunity:
    existing_id(Entity.OPPORTUNITY, id)
    v = validate(changes, FIELDS)
    now = info.context.now

    def change(o: Opportunity) -> Opportunity:
        new = replace(o, **v)
        if new.stage != o.stage:
            closed_at = (o.closed_at or now) if new.stage.closed else None
            default = STAGE_PROBABILITY[new.stage]
            new = replace(new, closed_at=closed_at, probability=v.get("probability", default))
        return new

    repo = info.context.repos.opportunities
    version = await policy.require_existing(
        info, "opportunity.update", repo, id, expected_version, v
    )
    # A new contact must be of the deal's customer: a condition of the write.
    return await repo.update(id, change, version)


async def delete_opportunity(info: Info, id: str, expected_version: int | None) -> str:
    existing_id(Entity.OPPORTUNITY, id)
    repo = info.context.repos.opportunities
    return await delete_record(info, "opportunity.delete", repo, id, expected_version)


async def of_customer(
    info: Info,
    customer_id: str,
    first: int | None,
    after: str | None,
    stage: OpportunityStage | None = None,
) -> Page[Opportunity]:
    key = PageKey(customer_id, page_size(info, first), after, stage=stage)
    return await info.context.loaders.opportunities_by_customer.load(key)


async def of_contact(
    info: Info, contact_id: str, first: int | None, after: str | None
) -> Page[Opportunity]:
    key = PageKey(contact_id, page_size(info, first), after)
    return await info.context.loaders.opportunities_by_contact.load(key)


async def of_owner(
    info: Info, owner_id: str, first: int | None, after: str | None
) -> Page[Opportunity]:
    key = PageKey(owner_id, page_size(info, first), after)
    return await info.context.loaders.opportunities_by_owner.load(key)
