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
References to users (owners) are not counted, only checked: users are not
deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dal.dynamodb import writes
from dal.dynamodb.conditions import Condition, both, owned_by, present
from dal.dynamodb.items import Item
from dal.models import Entity
from dal.tenancy.scope import TENANT_ATTR, TenantScope

REF_COUNT = "refCount"


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


def item(scope: TenantScope, id: str, carried: dict[str, Any]) -> Item:
    """The refs item of a new record: nothing points at it yet."""
    return {"pk": scope.refs_pk(id), TENANT_ATTR: scope.tenant_id, REF_COUNT: 0, **carried}


def create(scope: TenantScope, table: str, id: str, carried: dict[str, Any]) -> dict[str, Any]:
    absent = Condition("attribute_not_exists(#k)", {"#k": "pk"}, {})
    return writes.put(table, item(scope, id, carried), absent)


def delete(scope: TenantScope, table: str, id: str) -> dict[str, Any]:
    """Remove the refs item with its record, only while nothing points at the record."""
    unreferenced = Condition(
        "#tid = :tid AND (attribute_not_exists(#n) OR #n = :zero)",
        {"#tid": TENANT_ATTR, "#n": REF_COUNT},
        {":tid": scope.tenant_id, ":zero": 0},
    )
    return writes.delete(table, scope.refs_pk(id), unreferenced)


def point(scope: TenantScope, ref: Ref, delta: int) -> dict[str, Any]:
    """Count one more (or one fewer) record pointing at ``ref``'s target, which must
    exist in this tenant (and match ``where``); an owner is only checked."""
    table = scope.table(ref.entity)
    owner = both(present(), owned_by(scope.tenant_id))
    if not ref.counted:
        return writes.check(table, scope.pk(ref.id), owner)
    condition = both(owner, _matching(ref.where))
    return writes.add_to(table, scope.refs_pk(ref.id), REF_COUNT, delta, condition)


def _matching(where: tuple[tuple[str, str], ...]) -> Condition:
    if not where:
        return Condition("attribute_exists(#k)", {"#k": "pk"}, {})
    parts = [f"#w{i} = :w{i}" for i in range(len(where))]
    names = {f"#w{i}": attr for i, (attr, _) in enumerate(where)}
    values = {f":w{i}": value for i, (_, value) in enumerate(where)}
    return Condition(" AND ".join(parts), names, values)


def count_of(returned: Item | None) -> int:
    """``refCount`` of a refs item DynamoDB returned with a failed condition."""
    return int(str(returned.get(REF_COUNT, 0))) if returned else 0
