"""The tenant seam: the only place that forms table names and key values.

Three isolation models, chosen per tenant (see ``tenants.py``):

- ``silo``: tables of its own, ``{prefix}{tenant}-{Entity}``;
- ``bridge``: shared tables, every key value starts with ``{tenant}#`` (on AWS,
  IAM ``dynamodb:LeadingKeys`` can enforce the prefix);
- ``pool``: shared tables, the record key is an opaque digest of tenant and id
  (nothing in the key says whose it is), so isolation rests on the
  ``tenantId`` attribute: every read is checked and every write conditioned.

In every model, index partition keys start with ``{tenant}#`` (indexes are
partitioned by tenant) and every item carries ``tenantId``; the read check
and the write condition apply to all three, as defence in depth. A tenant id
never contains ``#``, so the first ``#`` always ends the tenant part.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TENANT_ATTR = "tenantId"


class Model(enum.StrEnum):
    SILO = "silo"
    BRIDGE = "bridge"
    POOL = "pool"


class InvalidTenant(ValueError):
    pass


def check_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID.fullmatch(tenant_id):
        raise InvalidTenant("tenant id must be 1-64 characters of A-Z a-z 0-9 _ -")
    return tenant_id


def silo_table(prefix: str, tenant_id: str, entity: str) -> str:
    return f"{prefix}{check_tenant_id(tenant_id)}-{entity}"


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Everything one tenant may touch: its table names and its key values."""

    tenant_id: str
    table_prefix: str
    model: Model = Model.BRIDGE
    # The tenant's reporting time zone: aggregates bucket by its calendar days.
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def __post_init__(self) -> None:
        check_tenant_id(self.tenant_id)

    def day(self, moment: datetime) -> date:
        """The tenant's calendar day of ``moment`` (an aware datetime)."""
        return moment.astimezone(self.zone).date()

    def table(self, entity: str) -> str:
        if self.model is Model.SILO:
            return silo_table(self.table_prefix, self.tenant_id, entity)
        return f"{self.table_prefix}{entity}"

    def pk(self, id: str) -> str:
        """The record key of ``id`` in this tenant."""
        if self.model is Model.POOL:
            digest = hashlib.sha256(f"{self.tenant_id}\x00{id}".encode()).hexdigest()
            return f"p-{digest[:40]}"
        return self.key(id)

    def refs_pk(self, id: str, shard: int = 0) -> str:
        """The key of an item counting what points at record ``id`` (records/refs.py).
        Ids never hold ``#``, so no record key ends like this."""
        return f"{self.pk(id)}#refs#{shard}"

    def key(self, *parts: str) -> str:
        """An index partition key value for this tenant: ``tenant#part#part``."""
        return "#".join((self.tenant_id, *parts))

    def owns(self, item: dict[str, Any]) -> bool:
        """The read check: an item is this tenant's only if it says so."""
        return item.get(TENANT_ATTR) == self.tenant_id
