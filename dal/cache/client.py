"""The cache client: Redis (one node or a cluster) behind a breaker, never required.

Every call answers: a value, a miss, or ``False`` for a write that did not
land. Redis errors and timeouts open the breaker and count as errors of the
layer; nothing is raised to the request. Invalidations that could not be
written are owed: the tenant's epoch is bumped (its whole cache forgotten)
as soon as Redis answers again, before anything of that tenant is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError, NoScriptError

from dal.cache.breaker import Breaker
from dal.cache.generations import FIELDS, Generations, fresh
from dal.cache.keys import KeySpace
from dal.cache.sealed import Sealer
from dal.cache.stats import Stats

T = TypeVar("T")
Client = Redis | RedisCluster
GENERATIONS_TTL_S = 7 * 24 * 3600  # longer than any value's TTL; refreshed by every bump
MISSING: Any = object()  # a miss, distinct from a cached None

# Set the value only if what is stored is older: a reader that filled from a
# stale read must not overwrite a newer write-through. Values start "version|".
VERSIONED_SET = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)|'))
  if v and v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Script:
    text: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.text.encode()).hexdigest()


# KEYS: the generations hash, a value. ARGV: the hash's fields. The fields'
# values, then the value ("" when absent: a Lua nil cannot end a table).
GENERATIONS_AND = Script("""
local out = redis.call('HMGET', KEYS[1], unpack(ARGV))
out[#out + 1] = redis.call('GET', KEYS[2]) or ''
return out
""")
UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end"


class Cache:
    def __init__(
        self,
        redis: Client,
        *,
        secret: bytes,
        release: str,
        breaker: Breaker | None = None,
        enabled: bool = True,
    ) -> None:
        self.redis = redis
        self.keys = KeySpace(release)
        self.sealer = Sealer(secret)
        self.breaker = breaker or Breaker()
        self.stats = Stats()
        self.enabled = enabled
        self._owed: set[str] = set()

    async def call(self, layer: str, op: Callable[[], Awaitable[T]]) -> T | Any:
        """``op``'s answer, or MISSING when Redis is off, broken or slow."""
        if not self.enabled or not self.breaker.allows():
            return MISSING
        try:
            result = await self._once_more_if_dropped(op)
        except Exception as exc:  # any failure of the cache is a miss, never an error
            # Not only RedisError: redis-py's cluster client has raised AttributeError
            # on a connection another task dropped (seen under 50 concurrent requests).
            self.breaker.failed(exc)
            self.stats.add(layer, "error")
            return MISSING
        self.breaker.succeeded()
        return result

    @staticmethod
    async def _once_more_if_dropped(op: Callable[[], Awaitable[T]]) -> T:
        """A connection the server closed (it restarted) fails fast and is not a
        sick Redis: one more try, on a new connection. A timeout is not retried."""
        try:
            return await op()
        except ConnectionError:
            return await op()

    # -- generations ---------------------------------------------------------
    async def generations(self, tenant: str) -> Generations | None:
        """The tenant's tokens (one HMGET), after paying what is owed to it."""
        if self._owed and not await self._settle():
            return None
        key = self.keys.generations(tenant)
        found = await self.call("generations", lambda: self.redis.hmget(key, list(FIELDS)))
        if found is MISSING:
            return None
        tokens: dict[str, str] | None = _decoded(found)
        if tokens is not None and len(tokens) < len(FIELDS):
            tokens = await self._create(key, [f for f in FIELDS if f not in tokens])
        return None if tokens is None else Generations(tokens)

    async def generations_and(self, tenant: str, key: str) -> tuple[Generations | None, Any]:
        """The tenant's tokens and the value at ``key``: one script, one round trip
        (cheaper for the client than a pipeline of two; both keys share a slot)."""
        if self._owed:
            return await self.generations(tenant), MISSING
        keys = (self.keys.generations(tenant), key)
        found = await self.call("generations", lambda: self._script(GENERATIONS_AND, keys, FIELDS))
        if found is MISSING:
            return None, MISSING
        tokens = _decoded(found[:-1])
        if len(tokens) < len(FIELDS):
            return await self.generations(tenant), MISSING
        return Generations(tokens), self._open(found[-1] or None)

    async def _script(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await self.redis.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:  # first use on this server: EVAL also caches it
            return await self.redis.eval(script.text, len(keys), *keys, *args)

    async def _create(self, key: str, missing: list[str]) -> dict[str, str] | None:
        async def op() -> list[Any]:
            pipe = self.redis.pipeline(transaction=False)
            for name, value in fresh(missing).items():
                pipe.hsetnx(key, name, value)
            pipe.expire(key, GENERATIONS_TTL_S)
            pipe.hmget(key, list(FIELDS))
            return list(await pipe.execute())

        done = await self.call("generations", op)
        if done is MISSING:
            return None
        return _decoded(done[-1])

    async def bump(self, tenant: str, layers: Iterable[str]) -> bool:
        """New tokens for ``layers``: their keys are forgotten, in every process."""
        mapping: dict[Any, Any] = fresh(str(layer) for layer in layers)
        if not mapping:
            return True
        key = self.keys.generations(tenant)

        async def op() -> bool:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, GENERATIONS_TTL_S)
            await pipe.execute()
            return True

        if await self.call("generations", op) is MISSING:
            self.owe(tenant)
            return False
        for layer in mapping:
            self.stats.add(layer, "invalidation")
        return True

    def owe(self, tenant: str) -> None:
        if self.enabled:
            self._owed.add(tenant)

    async def _settle(self) -> bool:
        """Forget the whole cache of every tenant whose invalidation did not land."""
        for tenant in sorted(self._owed):
            self._owed.discard(tenant)
            if not await self.bump(tenant, FIELDS):
                return False
        return True

    # -- values --------------------------------------------------------------
    async def get_many(self, layer: str, keys: Sequence[str], *, count: bool = True) -> list[Any]:
        """One MGET; each value opened, MISSING where absent or not ours."""
        if not keys:
            return []
        raw = await self.call(layer, lambda: self.redis.mget(list(keys)))
        values = [MISSING] * len(keys) if raw is MISSING else [self._open(v) for v in raw]  # type: ignore[arg-type]
        if count:
            self._count(layer, values)
        return values

    def _count(self, layer: str, values: list[Any]) -> None:
        hits = sum(v is not MISSING for v in values)
        self.stats.add(layer, "hit", hits)
        self.stats.add(layer, "miss", len(values) - hits)

    def _open(self, raw: bytes | None) -> Any:
        if raw is None:
            return MISSING
        ok, value = self.sealer.open(raw.split(b"|", 1)[-1])
        return value if ok else MISSING

    async def put_many(self, layer: str, entries: Sequence[tuple[str, Any]], ttl_s: float) -> bool:
        """One pipeline of SETs with a TTL."""
        if not entries:
            return True
        # "0|": every value starts with its version, these with none (VERSIONED_SET).
        sealed = [(key, b"0|" + self.sealer.seal(value)) for key, value in entries]

        async def op() -> bool:
            pipe = self.redis.pipeline(transaction=False)
            for key, value in sealed:
                pipe.set(key, value, px=int(ttl_s * 1000))
            await pipe.execute()
            return True

        return await self._counted(layer, op, len(entries))

    async def put_versions(
        self, layer: str, entries: Sequence[tuple[str, int, Any]], ttl_s: float
    ) -> bool:
        """One pipeline; each value lands only over an older version (VERSIONED_SET)."""
        if not entries:
            return True
        args = [(k, v, str(v).encode() + b"|" + self.sealer.seal(x)) for k, v, x in entries]

        async def op() -> bool:
            pipe = self.redis.pipeline(transaction=False)
            for key, version, value in args:
                pipe.eval(VERSIONED_SET, 1, key, version, value, int(ttl_s * 1000))
            await pipe.execute()
            return True

        return await self._counted(layer, op, len(entries))

    async def _counted(self, layer: str, op: Callable[[], Awaitable[bool]], n: int) -> bool:
        done = await self.call(layer, op)
        if done is MISSING:
            return False
        self.stats.add(layer, "fill", n)
        return True

    async def delete(self, layer: str, keys: Sequence[str]) -> bool:
        done = await self.call(layer, lambda: self.redis.delete(*keys))
        return done is not MISSING

    # -- raw values (persisted queries) -------------------------------------
    async def get_raw(self, layer: str, key: str) -> bytes | None:
        found = await self.call(layer, lambda: self.redis.get(key))
        if isinstance(found, bytes):
            self.stats.add(layer, "hit")
            return found
        self.stats.add(layer, "miss")
        return None

    async def set_raw(self, layer: str, key: str, value: bytes, ttl_s: float) -> bool:
        done = await self.call(layer, lambda: self.redis.set(key, value, px=int(ttl_s * 1000)))
        return done is not MISSING

    # -- fillers' locks ------------------------------------------------------
    async def lock(self, key: str, ttl_s: float) -> str | bool | None:
        """A token when this caller fills ``key``; False when another does; None: no Redis."""
        token = secrets.token_hex(8)
        lock = self.keys.lock(key)
        px = int(ttl_s * 1000)
        got = await self.call("lock", lambda: self.redis.set(lock, token, nx=True, px=px))
        if got is MISSING:
            return None
        return token if got else False

    async def unlock(self, key: str, token: str) -> None:
        lock = self.keys.lock(key)
        await self.call("lock", lambda: self.redis.eval(UNLOCK, 1, lock, token))

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _decoded(values: list[Any]) -> dict[str, str]:
    return {f: v.decode() for f, v in zip(FIELDS, values, strict=True) if v is not None}
