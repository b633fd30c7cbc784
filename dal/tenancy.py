"""The tenant seam: the only place that forms table names and key values.

Bridge model (this release): shared tables, every partition key value starts
with ``{tenant}#``. A tenant id never contains ``#``, so the first ``#`` always
ends the tenant part and one tenant's keys can never be read as another's.
Silo and pool models slot in here as other :class:`TenantScope` kinds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidTenant(ValueError):
    pass


def check_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID.match(tenant_id):
        raise InvalidTenant("tenant id must be 1-64 characters of A-Z a-z 0-9 _ -")
    return tenant_id


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Everything one tenant may touch: its table names and its key values."""

    tenant_id: str
    table_prefix: str

    def __post_init__(self) -> None:
        check_tenant_id(self.tenant_id)

    def table(self, entity: str) -> str:
        return f"{self.table_prefix}{entity}"

    def key(self, *parts: str) -> str:
        """A partition key value for this tenant: ``tenant#part#part``."""
        return "#".join((self.tenant_id, *parts))

    def unkey(self, value: str) -> str:
        """The id inside a partition key value of this tenant."""
        tenant, _, rest = value.partition("#")
        if tenant != self.tenant_id:
            # Unreachable through the repos; kept so a bug fails loudly, not leaks.
            raise InvalidTenant("key of another tenant")
        return rest
