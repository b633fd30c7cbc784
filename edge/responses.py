"""Whole answers of cacheable queries: ETag, 304, Cache-Control, the response cache.

A query whose every field is covered by cache hints (``schema.cache_policy``)
is described completely by the tenant's generations of the layers it reads:
the ETag is a hash of who asks (tenant, role, and the user where a field
depends on them), the document, its variables and those generations (and,
for fields that depend on the clock, the current max-age window). So a poll
with a matching ``If-None-Match`` is answered 304 from one round trip to
Redis, without parsing past the first time, validating or executing; and a
repeated query is answered from the response cache, checked by the same ETag.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass

from graphql import GraphQLError, GraphQLSchema, parse
from starlette.responses import Response

from dal.cache.client import MISSING, Cache
from dal.cache.generations import Generations
from dal.cache.keys import Layer, digest
from dal.cache.session import Who
from edge.operation import Operation
from schema.bounds import Limits
from schema.cache_policy import Policy, policy_of
from schema.caching import CacheScope
from schema.limits import shape_refused, source_refusal

NO_STORE = "no-store"
POLICIES_MAX = 2_000


@dataclass(frozen=True, slots=True)
class Lookup:
    policy: Policy
    generations: Generations
    etag: str
    key: str
    stored: bytes | None  # the answer kept for this ETag, if any


class Policies:
    """Document -> policy, computed once per document and operation name. A document
    past the size or token limits gets none, unparsed, and one past the depth, alias,
    root-field or directive limits none, unwalked (the limits refuse it later, as
    cheaply as they always did); kept by digest, not by its text."""

    def __init__(self, schema: GraphQLSchema, limits: Limits) -> None:
        self.schema, self.limits = schema, limits
        self._known: OrderedDict[tuple[str, str | None], Policy | None] = OrderedDict()

    def of(self, query: str, operation_name: str | None) -> Policy | None:
        key = (digest(query), operation_name)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        found = None
        if source_refusal(query, self.limits) is None:
            with suppress(GraphQLError):  # Strawberry will say what is wrong with it
                document = parse(query, max_tokens=self.limits.max_tokens)
                if not shape_refused(self.schema, document, self.limits):
                    found = policy_of(self.schema, document, operation_name)
        self._known[key] = found
        if len(self._known) > POLICIES_MAX:
            self._known.popitem(last=False)
        return found


class Responses:
    def __init__(self, cache: Cache, policies: Policies) -> None:
        self.cache, self.policies = cache, policies

    async def lookup(self, who: Who, op: Operation) -> Lookup | None:
        """The cache's view of ``op`` for ``who``; None when it is not cacheable."""
        policy = self.policies.of(op.query, op.operation_name) if op.query else None
        if policy is None or policy.max_age is None or not self.cache.enabled:
            return None
        asked = digest(_asked(who, policy, op))  # hashed once: the key and the ETag
        key = self.cache.keys.response(who.tenant, asked)
        generations, stored = await self.cache.generations_and(who.tenant, key)
        if generations is None:
            return None
        etag = _etag(asked, generations, policy)
        kept = stored if stored is not MISSING and stored[0] == etag else None
        self.cache.stats.add(Layer.RESPONSE, "miss" if kept is None else "hit")
        return Lookup(policy, generations, etag, key, None if kept is None else kept[1])

    async def keep(self, lookup: Lookup, body: bytes) -> None:
        ttl = lookup.policy.max_age or 0
        await self.cache.put_many(Layer.RESPONSE, [(lookup.key, (lookup.etag, body))], ttl)


def _asked(who: Who, policy: Policy, op: Operation) -> list[object]:
    user = who.user if policy.scope is CacheScope.USER else ""
    # The role always: a field's permission check may answer one role differently.
    return [who.tenant, who.role, user, op.query, op.operation_name, op.variables]


def _etag(asked: str, generations: Generations, policy: Policy) -> str:
    window = int(time.time() // policy.max_age) if policy.live and policy.max_age else 0
    return f'"{digest([asked, generations.fingerprint(policy.layers), window])}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    # No "*": it would match an answer never given; a poll names the ETag it holds.
    return etag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")}


def headers(lookup: Lookup | None) -> dict[str, str]:
    if lookup is None:
        return {"Cache-Control": NO_STORE}
    return {"Cache-Control": f"private, max-age={lookup.policy.max_age}", "ETag": lookup.etag}


def not_modified(lookup: Lookup) -> Response:
    return Response(status_code=304, headers=headers(lookup))
