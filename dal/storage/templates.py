"""E-mail templates: metadata in DynamoDB (``EmailTemplates``: pk ``{t}#templates``,
sk the template id), each version's body in the templates bucket under
``{t}/templates/{id}/v{version}.txt``.

A save writes the new version's body first, then the metadata conditioned on
the version it replaces: a save that loses the race leaves an orphan body
object that nothing points at (the old version stays current), never metadata
pointing at a body that is not there. A delete removes the metadata, then the
bodies of every version.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import datetime

from dal import ids
from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import absent, at_version, both, owned_by
from dal.dynamodb.items import Item
from dal.dynamodb.tables import EMAIL_TEMPLATES, SORT
from dal.dynamodb.writes import delete, put
from dal.errors import ConditionFailed, InvalidId, NotFound, TransactionCancelled, VersionConflict
from dal.jobs.files import JobFiles, template_key
from dal.tenancy.scope import TENANT_ATTR, TenantScope
from dal.timefmt import dump_dt, load_dt

TEMPLATE_ID = re.compile(r"^tpl_[A-Za-z0-9_-]{1,60}$")
MAX_TEMPLATES = 200  # per tenant (checked at save): ``emailTemplates`` reads them all
PAGE = 100  # items a Query asks for
BODIES = 16  # bodies read from S3 at once
BUCKET = "templates"


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    name: str
    subject: str
    body: str
    version: int
    updated_at: datetime


def new_id() -> str:
    return f"tpl_{ids.ulid()}"


class Templates:
    def __init__(self, dynamo: Dynamo, scope: TenantScope, files: JobFiles | None) -> None:
        self.dynamo, self.scope, self.files = dynamo, scope, files
        self.table = scope.table(EMAIL_TEMPLATES.entity)
        self.pk = scope.key("templates")

    def _files(self) -> JobFiles:
        if self.files is None:
            raise NotFound("no templates bucket in this store")
        return self.files

    async def get(self, id: str) -> Template | None:
        if not TEMPLATE_ID.fullmatch(id):
            return None
        item = await self.dynamo.get(self.table, self.pk, id)
        if item is None or not self.scope.owns(item):
            return None
        return await self._with_body(item)

    async def all(self) -> list[Template]:
        """Every template, by id; the bodies read ``BODIES`` at a time."""
        items = await self._items()
        gate = asyncio.Semaphore(BODIES)

        async def one(item: Item) -> Template:
            async with gate:
                return await self._with_body(item)

        return list(await asyncio.gather(*(one(i) for i in items)))

    async def room_for(self, id: str) -> bool:
        """Whether saving ``id`` keeps the tenant within ``MAX_TEMPLATES``: a change of
        a stored template always does; a new one, while fewer are stored."""
        if not TEMPLATE_ID.fullmatch(id):
            return True  # ``save`` refuses it (InvalidId)
        stored = await self.dynamo.get(self.table, self.pk, id)
        if stored is not None and self.scope.owns(stored):
            return True
        return len(await self._items((SORT, TENANT_ATTR))) < MAX_TEMPLATES

    async def _items(self, projection: tuple[str, ...] = ()) -> list[Item]:
        """Every page of the tenant's partition (a page is 1 MB at most, whatever the limit)."""
        pages = self.dynamo.pages(
            self.table, None, ("pk", self.pk), page=PAGE, projection=projection
        )
        return [i async for items in pages for i in items if self.scope.owns(i)]

    async def _with_body(self, item: Item) -> Template:
        files = self._files()
        key = template_key(self.scope.tenant_id, item[SORT], int(item["version"]))
        body = (await files.blobs.get(files.bucket(BUCKET), key)).decode()
        return _template(item, body)

    async def save(self, template: Template, expected: int | None) -> Template:
        """Version 1 for a new id; otherwise the stored version + 1, conditioned on
        the version read (or ``expected``): VersionConflict when another save won."""
        if not TEMPLATE_ID.fullmatch(template.id):
            raise InvalidId(f"{template.id!r} is not a template id (tpl_...)")
        stored = await self.dynamo.get(self.table, self.pk, template.id)
        if stored is not None and not self.scope.owns(stored):
            raise NotFound(template.id)
        current = None if stored is None else int(stored["version"])
        if expected is not None and current != expected:
            raise VersionConflict(current or 0)
        made = replace(template, version=(current or 0) + 1)
        files = self._files()
        key = template_key(self.scope.tenant_id, made.id, made.version)
        await files.blobs.put(files.bucket(BUCKET), key, made.body.encode(), "text/plain")
        mine = owned_by(self.scope.tenant_id)
        condition = absent() if current is None else both(at_version(current), mine)
        try:
            await self.dynamo.write([put(self.table, self._item(made), condition)])
        except (TransactionCancelled, ConditionFailed) as exc:
            raise VersionConflict(current or 0) from exc
        return made

    async def delete(self, id: str) -> None:
        found = (
            await self.dynamo.get(self.table, self.pk, id) if TEMPLATE_ID.fullmatch(id) else None
        )
        if found is None or not self.scope.owns(found):
            raise NotFound(id)
        op = delete(self.table, self.pk, owned_by(self.scope.tenant_id), sk=id)
        await self.dynamo.write([op])
        files = self._files()
        for version in range(1, int(found["version"]) + 1):
            key = template_key(self.scope.tenant_id, id, version)
            await files.blobs.objects.delete(files.bucket(BUCKET), key)

    def _item(self, t: Template) -> Item:
        return {
            "pk": self.pk,
            SORT: t.id,
            TENANT_ATTR: self.scope.tenant_id,
            "name": t.name,
            "subject": t.subject,
            "version": t.version,
            "updatedAt": dump_dt(t.updated_at),
        }


def _template(item: Item, body: str) -> Template:
    return Template(
        id=item[SORT],
        name=item["name"],
        subject=item["subject"],
        body=body,
        version=int(item["version"]),
        updated_at=load_dt(item["updatedAt"]),
    )
