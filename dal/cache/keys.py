"""Cache keys: the one place that spells them.

Every key is ``zc.{release}:{tenant}:...`` with the tenant in braces: a Redis
Cluster hash tag, so all keys of one tenant share a slot and one request's
MGET, pipeline or script never crosses nodes. Tenant ids never hold braces
or ``:`` (dal.tenancy.scope), so one tenant's keys cannot be another's.
``release`` changes with the schema, so a deploy never opens values another
release pickled. Ids, fields and argument hashes follow the tenant.
"""

from __future__ import annotations

import enum
import hashlib
import json
from typing import Any

import orjson


class Layer(enum.StrEnum):
    """The architecture's four layers, plus the two whole-operation caches."""

    CUSTOMER = "customer"
    CUSTOMER_LIST = "customer_list"
    REPORTS = "reports"
    DASHBOARD = "dashboard"
    RESPONSE = "response"
    PERSISTED = "persisted_query"


# Per-tenant generation tokens, one field each in one hash. ``epoch`` is in
# every key of the tenant: bumping it forgets the tenant's whole cache.
EPOCH = "epoch"
GENERATIONS = (EPOCH, Layer.CUSTOMER, Layer.CUSTOMER_LIST, Layer.REPORTS, Layer.DASHBOARD)


def digest(value: Any) -> str:
    """A short, stable hash of a JSON-able value (arguments, variables, documents)."""
    if isinstance(value, str):
        return hashlib.sha256(value.encode()).hexdigest()[:24]
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:  # what orjson will not take (an integer past 64 bits)
        text = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(text).hexdigest()[:24]


class KeySpace:
    def __init__(self, release: str) -> None:
        self.release = release

    def _base(self, tenant: str) -> str:
        return f"zc.{self.release}:{{{tenant}}}"

    def generations(self, tenant: str) -> str:
        return f"{self._base(tenant)}:gen"

    def record(self, tenant: str, epoch: str, entity: str, id: str) -> str:
        return f"{self._base(tenant)}:{epoch}:rec:{entity}:{id}"

    def field(self, tenant: str, generation: str, name: str, parent: str, args: str) -> str:
        """``name`` is ``Type.field``; ``args`` the argument hash and the scope (role, user)."""
        return f"{self._base(tenant)}:{generation}:fld:{name}:{parent}:{args}"

    def response(self, tenant: str, operation: str) -> str:
        """A whole answer; the generations it was built on are in the value."""
        return f"{self._base(tenant)}:rsp:{operation}"

    def persisted(self, tenant: str, sha256: str) -> str:
        return f"{self._base(tenant)}:apq:{sha256}"

    def lock(self, key: str) -> str:
        """The filler's lock of ``key``; same slot (it begins with the same hash tag)."""
        return f"{key}:lock"
