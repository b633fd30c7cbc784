"""Cache hints, declared where the field or type is declared (Apollo's ``@cacheControl``).

``cached(...)`` gives a field both the ``@cacheControl`` directive (so the
SDL shows each field's layer and max age) and the ``Cached`` extension that
does the work: the key carries the tenant, the layer's generation, the type
and field, the parent's id, an argument hash and, where declared, the role or
user; a hit returns without running the resolver (no DynamoDB request), a
miss runs it once for all concurrent askers (``dal.cache.flight``) and fills.
A hint with ``stores=False`` only declares where the field's data comes from
(``customer(id)`` reads the record layer through its loader).
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.schema_directive import Location

from dal.cache.client import MISSING
from dal.cache.keys import Layer, digest
from dal.cache.session import CacheSession
from resolvers.context import Info

R = TypeVar("R")
strawberry.enum(Layer, name="CacheLayer")


@strawberry.enum
class CacheScope(enum.Enum):
    TENANT = "TENANT"  # the same for everyone of the tenant
    ROLE = "ROLE"  # depends on the caller's role
    USER = "USER"  # depends on who asks


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION, Location.OBJECT])
class CacheControl:
    max_age: int
    layer: Layer
    scope: CacheScope = CacheScope.TENANT


class Codec(Protocol):
    """How a resolver's answer is kept: ``encode`` before a fill, ``decode`` after a hit."""

    def encode(self, value: Any) -> Any: ...

    async def decode(self, value: Any, info: Info) -> Any: ...


class Whole:
    """The answer as it is (pickled and sealed by the cache)."""

    def encode(self, value: Any) -> Any:
        return value

    async def decode(self, value: Any, info: Info) -> Any:
        return value


@dataclass(frozen=True)
class Hint:
    layer: Layer
    max_age: int
    scope: CacheScope = CacheScope.TENANT
    # Depends on the clock too (overdue, today): the ETag turns with max_age.
    live: bool = False
    stores: bool = True
    codec: Codec = field(default_factory=Whole)
    # Layers the decoded answer reads through (a list's nodes: the record layer).
    reads: tuple[Layer, ...] = ()

    @property
    def layers(self) -> tuple[Layer, ...]:
        return (self.layer, *self.reads)


class Cached(FieldExtension):
    def __init__(self, hint: Hint) -> None:
        self.hint = hint

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        session = info.context.cache
        if session is None or not self.hint.stores:
            return await next_(source, info, **kwargs)
        generations = await session.generations()
        if generations is None:  # no Redis: straight to DynamoDB
            return await next_(source, info, **kwargs)
        key = self._key(session, info, source, kwargs, generations.of(self.hint.layer))
        found = await session.get(self.hint.layer, key)
        if found is MISSING:
            found = await self._fill(session, key, lambda: next_(source, info, **kwargs))
        return await self.hint.codec.decode(found, info)

    def _key(
        self,
        session: CacheSession,
        info: Info,
        source: Any,
        kwargs: dict[str, Any],
        generation: str,
    ) -> str:
        who = session.who
        scope = {CacheScope.ROLE: f"r={who.role}", CacheScope.USER: f"u={who.user}"}
        args = f"{digest(_plain(kwargs))}{scope.get(self.hint.scope, '')}"
        if self.hint.live:  # a clock-dependent answer ages out with its max-age window
            args += f"w={int(time.time() // self.hint.max_age)}"
        parent = str(getattr(source, "id", "-"))
        name = f"{info.path.typename}.{info.field_name}"
        return session.cache.keys.field(who.tenant, generation, name, parent, args)

    async def _fill(
        self, session: CacheSession, key: str, resolve: Callable[[], Awaitable[Any]]
    ) -> Any:
        hint = self.hint

        async def compute() -> Any:
            encoded = hint.codec.encode(await resolve())
            # Filled before the flight lands: whoever asks next, here or in another
            # process, finds it (a fill still queued would let them compute again).
            await session.cache.put_many(hint.layer, [(key, encoded)], hint.max_age)
            return encoded

        async def reread() -> Any:
            return (await session.cache.get_many(hint.layer, [key], count=False))[0]

        return await session.flight.run(key, compute, reread)


def cached(hint: Hint) -> dict[str, Any]:
    """``strawberry.field``'s arguments for ``hint``: the directive and the extension."""
    directive = CacheControl(max_age=hint.max_age, layer=hint.layer, scope=hint.scope)
    return {"directives": [directive], "extensions": [Cached(hint)]}


def cached_field(hint: Hint) -> Callable[[R], R]:
    """``@strawberry.field`` on a resolver, cached by ``hint`` (typed once, as list_field)."""

    def declare(resolver: R) -> R:
        extra = cached(hint)
        fn: Any = resolver
        field: Any = strawberry.field(
            fn, directives=extra["directives"], extensions=extra["extensions"]
        )
        return cast(R, field)

    return declare


def _plain(value: Any) -> Any:
    """Arguments as JSON-able values, for the argument hash."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value
