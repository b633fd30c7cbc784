"""Automatic persisted queries, in Apollo's protocol.

A client sends ``extensions.persistedQuery.sha256Hash`` alone; if we know the
hash we run its query, otherwise we answer PERSISTED_QUERY_NOT_FOUND (message
``PersistedQueryNotFound``, HTTP 200, as Apollo does) and the client sends
query and hash together once, which we check and keep. Kept per tenant (a
document may hold a customer's name as a literal) in Redis with a TTL, and in
a small in-process map in front, so the hot path and a Redis outage cost
nothing for known hashes.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from starlette.responses import Response

from dal.cache.client import Cache
from dal.cache.keys import Layer
from edge.envelope import error_response
from edge.operation import Operation

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
LOCAL_MAX = 2_000


class PersistedQueries:
    def __init__(self, cache: Cache, ttl_s: float, max_characters: int) -> None:
        # Longer documents are refused by the limits: never worth keeping.
        self.cache, self.ttl_s, self.max_characters = cache, ttl_s, max_characters
        self._local: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def resolve(self, tenant: str, op: Operation) -> Operation | Response:
        """``op`` with its query text, or the answer that refuses it."""
        sha = op.persisted_hash
        if sha is None:
            return op
        sha = sha.lower()
        if op.query is not None:
            return await self._register(tenant, sha, op)
        query = await self._find(tenant, sha)
        if query is None:
            return error_response("PersistedQueryNotFound", {"code": NOT_FOUND}, status=200)
        return op.with_query(query)

    async def _register(self, tenant: str, sha: str, op: Operation) -> Operation | Response:
        query = op.query or ""
        if hashlib.sha256(query.encode()).hexdigest() != sha:
            extensions = {"code": "BAD_USER_INPUT", "field": "extensions.persistedQuery"}
            return error_response("provided sha does not match query", extensions, status=400)
        if len(query) > self.max_characters:
            return op  # run as sent: the limits refuse it
        self._remember(tenant, sha, query)
        key = self.cache.keys.persisted(tenant, sha)
        await self.cache.set_raw(Layer.PERSISTED, key, query.encode(), self.ttl_s)
        return op

    async def _find(self, tenant: str, sha: str) -> str | None:
        local = self._local.get((tenant, sha))
        if local is not None:
            self._local.move_to_end((tenant, sha))
            return local
        raw = await self.cache.get_raw(Layer.PERSISTED, self.cache.keys.persisted(tenant, sha))
        if raw is None:
            return None
        query = raw.decode()
        # Redis is not trusted with code paths: what it gives must hash to what was asked.
        if hashlib.sha256(raw).hexdigest() != sha:
            return None
        self._remember(tenant, sha, query)
        return query

    def _remember(self, tenant: str, sha: str, query: str) -> None:
        self._local[(tenant, sha)] = query
        if len(self._local) > LOCAL_MAX:
            self._local.popitem(last=False)
