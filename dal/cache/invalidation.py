"""What each write makes stale, invalidated before the mutation returns.

A customer write puts the new record (or a tombstone) through to the record
layer and bumps the customer generation (ETags of answers that show
customers). Lists are bumped only by what changes a list's members or order:
creates, deletes, and updates of the fields lists filter or sort on (owner,
industry, the name that search and the name filter read). Reports and the
dashboard are bumped by writes to their inputs. A write whose invalidation
cannot reach Redis leaves the tenant owed (``Cache.owe``).
"""

from __future__ import annotations

from dal.cache.client import Cache
from dal.cache.keys import Layer
from dal.cache.records import version_of
from dal.models import Customer, Document, DocumentStatus, Entity, Record

# Fields of a customer that decide which lists it is in, and where.
LISTED = ("owner_id", "industry", "company_name")
FEEDS: dict[Entity, tuple[Layer, ...]] = {
    Entity.OPPORTUNITY: (Layer.REPORTS, Layer.DASHBOARD),
    Entity.ACTIVITY: (Layer.REPORTS, Layer.DASHBOARD),
    # A user's time zone decides which activities are today's.
    Entity.USER: (Layer.DASHBOARD,),
    # Customer.documents is kept in the customer layer.
    Entity.DOCUMENT: (Layer.CUSTOMER,),
}


def _listed(record: Record | None) -> bool:
    return isinstance(record, Document) and record.status is DocumentStatus.AVAILABLE


def stale_layers(entity: Entity, old: Record | None, new: Record | None) -> set[Layer]:
    if entity is Entity.DOCUMENT and not (_listed(old) or _listed(new)):
        return set()  # a PENDING upload is in no list
    if entity is not Entity.CUSTOMER:
        return set(FEEDS.get(entity, ()))
    layers = {Layer.CUSTOMER}
    if old is None or new is None:
        layers |= {Layer.CUSTOMER_LIST, Layer.REPORTS}  # acquisition counts customers
    elif any(getattr(old, f) != getattr(new, f) for f in LISTED):
        layers.add(Layer.CUSTOMER_LIST)
    return layers


class Invalidator:
    def __init__(self, cache: Cache, tenant: str, record_ttl_s: float) -> None:
        self.cache, self.tenant, self.record_ttl_s = cache, tenant, record_ttl_s

    async def written(self, entity: Entity, old: Record | None, new: Record | None) -> None:
        if not self.cache.enabled:
            return
        if entity is Entity.CUSTOMER and not await self._put_through(old, new):
            self.cache.owe(self.tenant)
        await self.cache.bump(self.tenant, stale_layers(entity, old, new))

    async def _put_through(self, old: Record | None, new: Record | None) -> bool:
        generations = await self.cache.generations(self.tenant, force=True)
        if generations is None:
            return False
        record = new or old
        if not isinstance(record, Customer):
            return True
        key = self.cache.keys.record(self.tenant, generations.epoch, Entity.CUSTOMER, record.id)
        # A delete leaves a tombstone one version past the record; a create is a new
        # incarnation, newer than any tombstone of an earlier record of this id.
        version = version_of(new) if new else version_of(record, bump=1)
        entry = (key, version, new)
        return await self.cache.put_versions(Layer.CUSTOMER, [entry], self.record_ttl_s)
