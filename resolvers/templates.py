"""E-mail templates: saved and deleted by staff (``template.write``), read and
rendered by every role of the tenant, over the fields of ``rendering.FIELDS``."""

from __future__ import annotations

from typing import Any

from dal.models import Contact, Entity, Opportunity
from dal.storage.templates import MAX_TEMPLATES, Template, new_id
from dal.timefmt import utcnow
from resolvers import policy, rendering
from resolvers.context import Info
from resolvers.errors import BadUserInput, NotFoundError
from resolvers.sync import PERSONAL
from resolvers.validation import text

NAME_MAX = 200


async def template(info: Info, id: str) -> Template | None:
    return await info.context.repos.templates.get(id)


async def templates(info: Info) -> list[Template]:
    return await info.context.repos.templates.all()


async def save(info: Info, given: dict[str, Any], expected: int | None) -> Template:
    await policy.require(info, "template.write")
    name = text(NAME_MAX, required=True)("name", given.get("name"))
    subject, body = str(given.get("subject") or ""), str(given.get("body") or "")
    await rendering.check_saved(subject, body)
    made = Template(given.get("id") or new_id(), name or "", subject, body, 0, utcnow())
    stored = info.context.repos.templates
    if not await stored.room_for(made.id):
        raise BadUserInput(f"at most {MAX_TEMPLATES} templates per tenant: delete one first", "id")
    return await stored.save(made, expected)


async def delete(info: Info, id: str) -> str:
    await policy.require(info, "template.write")
    await info.context.repos.templates.delete(id)
    return id


async def render(
    info: Info, id: str, contact_id: str, opportunity_id: str | None
) -> tuple[str, str]:
    found = await template(info, id)
    if found is None:
        raise NotFoundError("template not found")
    values, records = await _values(info, contact_id, opportunity_id)
    done = await rendering.render(found.subject, found.body, values)
    _note_reads(info, records, done.read)
    return done.subject, done.body


def _note_reads(info: Info, records: dict[str, Any], read: dict[str, list[str]]) -> None:
    """A rendered contact's personal fields are read as if selected on ``Contact`` (and
    the sender's on ``User``): the same audit events, for a tenant that audits reads."""
    if not info.context.repos.audit_reads:
        return
    for group, entity in (("contact", Entity.CONTACT), ("sender", Entity.USER)):
        personal = PERSONAL[entity] & set(read.get(group, ()))
        if personal and records[group] is not None:
            key = (entity.value, str(records[group].id))
            info.context.reads.setdefault(key, set()).update(personal)


async def _values(
    info: Info, contact_id: str, opportunity_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template's values, and the records they come from, by group."""
    loaders = info.context.loaders
    contact = await loaders.contact_by_id.load(contact_id)
    if not isinstance(contact, Contact):
        raise BadUserInput("contactId does not name a contact", "contactId")
    customer = await loaders.customer_by_id.load(contact.customer_id)
    deal = None
    if opportunity_id is not None:
        deal = await loaders.opportunity_by_id.load(opportunity_id)
        if not isinstance(deal, Opportunity) or deal.customer_id != contact.customer_id:
            raise BadUserInput("opportunityId does not name a deal of the contact's customer",
                               "opportunityId")  # fmt: skip
    me = await info.context.repos.users.get(info.context.principal.user_id)
    records = {"contact": contact, "customer": customer, "opportunity": deal, "sender": me}
    return _fields(records, info), records


def _fields(records: dict[str, Any], info: Info) -> dict[str, Any]:
    """Each group as the API names its fields (``Codec.public``), every value a string."""
    repos = info.context.repos
    entities = {"contact": Entity.CONTACT, "customer": Entity.CUSTOMER}
    entities |= {"opportunity": Entity.OPPORTUNITY, "sender": Entity.USER}
    out: dict[str, Any] = {}
    for name, record in records.items():
        public = {} if record is None else repos.of(entities[name]).codec.public(record)
        values = {k: str(v) for k, v in public.items()}
        out[name] = rendering.Fields(name, values, present=record is not None)
    out["today"] = info.context.now.astimezone(repos.scope.zone).date().isoformat()
    return out
