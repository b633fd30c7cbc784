"""Stream records as the consumer reads them, and what each derives.

A stream record (GetRecords, or a Lambda event's record: the same shape) is one
committed change of one item: its images before and after. Items that are no
record (a record's refs items) derive nothing. A record's tenant is the image's
``tenantId``; its reporting time zone, the registry's.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from boto3.dynamodb.types import DYNAMODB_CONTEXT

from dal.derived import series
from dal.derived.contributions import NOTHING, Count
from dal.dynamodb import writes
from dal.dynamodb.items import Item, deserialize
from dal.dynamodb.tables import KEY
from dal.models import Entity
from dal.records.codec import Codec
from dal.tenancy.registry import TenantRegistry
from dal.tenancy.scope import TENANT_ATTR, Model, TenantScope

log = logging.getLogger("zebros.streams")

Amount = Decimal | int


@dataclass(frozen=True, slots=True)
class Change:
    seq: str
    old: Item | None
    new: Item | None

    @property
    def item(self) -> Item:
        """The image that names the record (a stream record has one or both)."""
        return self.new if self.new is not None else (self.old or {})


def parse(raw: Mapping[str, Any]) -> Change:
    """One stream record (``dynamodb.SequenceNumber``, ``OldImage``, ``NewImage``)."""
    body = raw["dynamodb"]
    old, new = body.get("OldImage"), body.get("NewImage")
    return Change(
        str(body["SequenceNumber"]),
        None if old is None else deserialize(old),
        None if new is None else deserialize(new),
    )


def is_record(item: Item) -> bool:
    """A record, not one of its refs items (``{key}#refs#{n}``)."""
    return "#refs#" not in str(item.get(KEY, "")) and TENANT_ATTR in item


class Scopes:
    """The tenant scope of a record read from a stream of table ``source``."""

    def __init__(self, registry: TenantRegistry, prefix: str, default_zone: str) -> None:
        self._registry, self._prefix, self._zone = registry, prefix, default_zone

    async def of(self, source: str, entity: Entity, item: Item) -> TenantScope:
        tenant = str(item[TENANT_ATTR])
        found = await self._registry.get(tenant)
        if found is not None:
            return TenantScope(tenant, self._prefix, found.model, ZoneInfo(found.time_zone))
        # Not registered (bare tests, benchmarks): the table and the key tell the model.
        if source != f"{self._prefix}{entity.value}":
            model = Model.SILO
        else:
            model = Model.BRIDGE if "#" in str(item[KEY]) else Model.POOL
        return TenantScope(tenant, self._prefix, model, ZoneInfo(self._zone))


class Sums:
    """Counter deltas summed per aggregate item, as DynamoDB's ADD would sum them."""

    def __init__(self) -> None:
        self._sums: dict[tuple[str, str, str], dict[str, Amount]] = defaultdict(dict)
        self._tenant: dict[tuple[str, str, str], str] = {}
        self.tenants: set[str] = set()

    def __len__(self) -> int:
        return sum(1 for amounts in self._sums.values() if any(amounts.values()))

    def add(self, scope: TenantScope, counts: tuple[Count, ...], sign: int) -> None:
        table = scope.table("Aggregates")
        for c in counts:
            key = (table, c.pk, c.sk)
            bucket = self._sums[key]
            bucket[c.attr] = _sum(bucket.get(c.attr, 0), sign * c.amount)
            self._tenant[key] = scope.tenant_id
            self.tenants.add(scope.tenant_id)

    def operations(self, shard: int) -> list[dict[str, Any]]:
        """One ADD per aggregate item that changes, in shard ``shard`` of its bucket."""
        ops = []
        for (table, pk, sk), amounts in sorted(self._sums.items()):
            if changed := {attr: v for attr, v in amounts.items() if v != 0}:
                tenant = self._tenant[(table, pk, sk)]
                ops.append(writes.add(table, pk, series.sharded(sk, shard), changed, tenant))
        return ops


def counts(codec: Codec[Any], scope: TenantScope, item: Item | None) -> tuple[Count, ...]:
    """What the record in ``item`` contributes to the aggregates (nothing: no record).

    An item the codec cannot read (written by hand, or by a bug) counts for nothing
    and is logged: raising would stop its shard for good, every later change with it,
    while the API answers INTERNAL_SERVER_ERROR for that record alone."""
    if item is None or not is_record(item):
        return NOTHING.counts
    try:
        record = codec.load(item)
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        log.error(
            "streams: %s is no record the codec reads (%s): counted as none", item.get(KEY), exc
        )
        return NOTHING.counts
    return codec.derived(scope, record).counts


def _sum(a: Amount, b: Amount) -> Amount:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    total: Decimal = DYNAMODB_CONTEXT.add(Decimal(a), Decimal(b))
    return total
