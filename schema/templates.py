"""E-mail templates (``resolvers/templates.py``, ``resolvers/rendering.py``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from dal.storage import templates as stored
from resolvers import templates
from resolvers.context import Info
from schema.cost import list_field
from schema.inputs import ExpectedVersion


@strawberry.type
class EmailTemplate:
    id: strawberry.ID
    name: str
    subject: str
    body: str
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, t: stored.Template) -> EmailTemplate:
        return cls(
            id=strawberry.ID(t.id),
            name=t.name,
            subject=t.subject,
            body=t.body,
            version=t.version,
            updated_at=t.updated_at,
        )


@strawberry.type
class RenderedEmail:
    subject: str
    body: str


@strawberry.input
class EmailTemplateInput:
    id: strawberry.ID | None = None
    name: str
    subject: str
    body: str


@strawberry.type
class TemplateQuery:
    @strawberry.field
    async def email_template(self, info: Info, id: strawberry.ID) -> EmailTemplate | None:
        found = await templates.template(info, id)
        return None if found is None else EmailTemplate.of(found)

    @list_field(assumed_size=stored.MAX_TEMPLATES)
    async def email_templates(self, info: Info) -> list[EmailTemplate]:
        return [EmailTemplate.of(t) for t in await templates.templates(info)]

    @strawberry.field
    async def render_email_template(
        self,
        info: Info,
        id: strawberry.ID,
        contact_id: strawberry.ID,
        opportunity_id: strawberry.ID | None = None,
    ) -> RenderedEmail:
        subject, body = await templates.render(info, id, contact_id, opportunity_id)
        return RenderedEmail(subject=subject, body=body)


@strawberry.type
class TemplateMutation:
    @strawberry.mutation
    async def save_email_template(
        self, info: Info, input: EmailTemplateInput, expected_version: ExpectedVersion = None
    ) -> EmailTemplate:
        given = {"id": input.id, "name": input.name, "subject": input.subject, "body": input.body}
        return EmailTemplate.of(await templates.save(info, given, expected_version))

    @strawberry.mutation
    async def delete_email_template(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(await templates.delete(info, id))
