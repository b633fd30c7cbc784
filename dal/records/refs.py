"""References between records, kept exact without scans.

A record that others point at (customer, contact, opportunity) has a *refs
item* beside it in its table: key ``{record key}#refs``, ``refCount`` = how many
records point at it. Why an item of its own rather than an attribute of the
record: every index copy of a record is rewritten when one of its projected
attributes changes, so a counter on a customer would rewrite its index copies
each time a contact is added; and a child's create then never collides with
an edit of its parent, since the two touch different items.

The refs item is written in the same transaction as its record, so it exists
exactly while the record does. A child's create adds 1 to it on condition
that it exists (is this tenant's, and, where the child needs it, belongs to
the child's customer); a parent's delete removes it on condition that
``refCount`` is 0. Both touch the refs item, so DynamoDB orders them: no child
slips in while its parent is deleted, and a delete never leaves one dangling.
A customer may have many children written at once (an import, a busy team),
and two transactions in flight on one item make DynamoDB cancel one. So a
customer's count is split over ``SHARDS`` refs items (``#refs#0`` .. ``#refs#3``):
a child always counts on the one its own id picks (a stable hash), so its
delete takes back exactly what its create added and no shard goes below zero;
the customer's delete needs every shard at zero. Contacts and opportunities
have few children: one refs item each.

References to users (owners) are not counted, only checked, by a strongly
consistent read before the write: users are never deleted, so the answer cannot
go stale between the read and the write; as a condition inside the transaction
it would make every write of a tenant collide on its few owners' items
(DynamoDB cancels two transactions in flight on one item, condition checks
included).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from dal.dynamodb import writes
from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import Condition, both, owned_by, present
from dal.dynamodb.items import Item
from dal.errors import MissingReference
from dal.models import Entity
from dal.tenancy.scope import TENANT_ATTR, TenantScope

REF_COUNT = "refCount"
SHARDS: dict[Entity, int] = {Entity.CUSTOMER: 4}  # others: 1


def shards(entity: Entity) -> int:
    return SHARDS.get(entity, 1)


def shard_of(child_id: str, entity: Entity) -> int:
    """The refs item of an ``entity`` record that the child ``child_id`` counts on."""
    return zlib.crc32(child_id.encode()) % shards(entity)


@dataclass(frozen=True, slots=True)
class Ref:
    """A record this one points at, through the input field ``field``."""

    entity: Entity
    id: str
    field: str
    counted: bool = True  # False: only checked (owners)
    # Attributes the target's refs item must hold (a contact's customerId).
    where: tuple[tuple[str, str], ...] = ()
    problem: str = "does not name an existing record"

    @property
    def message(self) -> str:
        return f"{self.field} {self.problem}"


def item(scope: TenantScope, entity: Entity, id: str, carried: dict[str, Any], shard: int) -> Item:
    """A refs item of a new record: nothing points at it yet."""
    pk = scope.refs_pk(id, shard)
    return {"pk": pk, TENANT_ATTR: scope.tenant_id, REF_COUNT: 0, **carried}


def create(
    scope: TenantScope, entity: Entity, table: str, id: str, carried: dict[str, Any]
) -> list[dict[str, Any]]:
    absent = Condition("attribute_not_exists(#k)", {"#k": "pk"}, {})
    return [
        writes.put(table, item(scope, entity, id, carried, n), absent)
        for n in range(shards(entity))
    ]


def delete(scope: TenantScope, entity: Entity, table: str, id: str) -> list[dict[str, Any]]:
    """Remove the refs items with their record, only while nothing points at it."""
    unreferenced = Condition(
        "#tid = :tid AND (attribute_not_exists(#n) OR #n = :zero)",
        {"#tid": TENANT_ATTR, "#n": REF_COUNT},
        {":tid": scope.tenant_id, ":zero": 0},
    )
    return [writes.delete(table, scope.refs_pk(id, n), unreferenced) for n in range(shards(entity))]


def point(scope: TenantScope, ref: Ref, delta: int, child_id: str) -> dict[str, Any]:
    """Count one more (or one fewer) record pointing at ``ref``'s target, which must
    exist in this tenant (and match ``where``), on the shard the child's id picks."""
    table = scope.table(ref.entity)
    condition = both(both(present(), owned_by(scope.tenant_id)), _matching(ref.where))
    pk = scope.refs_pk(ref.id, shard_of(child_id, ref.entity))
    return writes.add_to(table, pk, REF_COUNT, delta, condition)


async def check_owners(dynamo: Dynamo, scope: TenantScope, pointed: list[Ref]) -> None:
    """MissingReference unless every uncounted reference (an owner) names a user of
    this tenant: strongly consistent reads, one per owner (a write names one)."""
    for ref in pointed:
        if not ref.counted:
            item = await dynamo.get(scope.table(ref.entity), scope.pk(ref.id))
            if item is None or not scope.owns(item):
                raise MissingReference(ref.field, ref.message)


def _matching(where: tuple[tuple[str, str], ...]) -> Condition:
    if not where:
        return Condition("attribute_exists(#k)", {"#k": "pk"}, {})
    parts = [f"#w{i} = :w{i}" for i in range(len(where))]
    names = {f"#w{i}": attr for i, (attr, _) in enumerate(where)}
    values = {f":w{i}": value for i, (_, value) in enumerate(where)}
    return Condition(" AND ".join(parts), names, values)


def count_of(returned: list[Item | None]) -> int:
    """What still points at a record, from the refs items DynamoDB returned with
    their failed conditions (the shards not at zero)."""
    return sum(int(str(i.get(REF_COUNT, 0))) for i in returned if i)
