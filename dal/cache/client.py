"""The cache client: Redis (one node or a cluster) behind a breaker, never required.

Every call answers: a value, a miss, or ``False`` for a write that did not
land. Redis errors and timeouts open the breaker and count as errors of the
layer; nothing is raised to the request. Invalidations that could not be
written are owed: the tenant's epoch is bumped (its whole cache forgotten)
as soon as Redis answers again, before anything of that tenant is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError

from dal.cache.breaker import OUTAGE, Breaker
from dal.cache.generations import FIELDS, Generations, fresh
from dal.cache.keys import EPOCH, KeySpace
from dal.cache.scripts import GENERATIONS_AND, UNLOCK, VERSIONED_SET, run_script
from dal.cache.sealed import Sealer
from dal.cache.stats import Stats
from dal.errors import StoreUnavailable

T = TypeVar("T")
Client = Redis | RedisCluster
GENERATIONS_TTL_S = 7 * 24 * 3600  # longer than any value's TTL; refreshed by every bump
REPAY_ATTEMPTS = 1_800  # an hour of retries at the default pause; then the next read pays
MISSING: Any = object()  # a miss, distinct from a cached None
Version = tuple[int, int]  # (incarnation: creation time in µs, record version)


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
        self._repaying: asyncio.Task[None] | None = None
        self._settling = asyncio.Lock()

    async def aclose(self) -> None:
        """Stop the repayment task before the client closes: a task that used the
        client after its close would open a connection nothing ever closes."""
        task, self._repaying = self._repaying, None
        await _stopped(task)

    async def call(
        self, layer: str, op: Callable[[], Awaitable[T]], *, force: bool = False
    ) -> T | Any:
        """``op``'s answer, or MISSING when Redis is off, broken or slow. ``force``:
        try even with the breaker open (invalidations: a write must not skip them
        because an earlier read of this process was slow)."""
        if not self.enabled or not (force or self.breaker.allows()):
            return MISSING
        try:
            result = await self._once_more_if_dropped(op)
        except OUTAGE as exc:  # any failure of the cache is a miss, never an error
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
    async def generations(self, tenant: str, *, force: bool = False) -> Generations | None:
        """The tenant's tokens (one HMGET), after paying what is owed to it."""
        if self._owed and not await self._settle():
            return None
        key = self.keys.generations(tenant)
        read = lambda: self.redis.hmget(key, list(FIELDS))  # noqa: E731
        found = await self.call("generations", read, force=force)
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
        found = await self.call(
            "generations", lambda: run_script(self.redis, GENERATIONS_AND, keys, FIELDS)
        )
        if found is MISSING:
            return None, MISSING
        tokens = _decoded(found[:-1])
        if len(tokens) < len(FIELDS):
            return await self.generations(tenant), MISSING
        return Generations(tokens), self._open(found[-1] or None)

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
        if await self._write_tokens(tenant, fresh(str(layer) for layer in layers)):
            return True
        self.owe(tenant)
        return False

    async def _write_tokens(self, tenant: str, mapping: dict[Any, Any]) -> bool:
        if not mapping:
            return True
        key = self.keys.generations(tenant)

        async def op() -> bool:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, GENERATIONS_TTL_S)
            await pipe.execute()
            return True

        if await self.call("generations", op, force=True) is MISSING:
            return False
        for layer in mapping:
            self.stats.add(layer, "invalidation")
        return True

    def owe(self, tenant: str) -> None:
        """An invalidation of ``tenant`` did not land: paid before this process reads
        the tenant from the cache again, and by a task that retries meanwhile, so
        other processes are not left reading what the write made stale for long."""
        if not self.enabled:
            return
        self._owed.add(tenant)
        if self._repaying is None or self._repaying.done():
            self._repaying = asyncio.ensure_future(self._repay())

    async def _repay(self) -> None:
        for _ in range(REPAY_ATTEMPTS):
            if not self._owed or await self._settle():
                return
            await asyncio.sleep(max(self.breaker.pause, 0.05))

    async def _settle(self) -> bool:
        """Forget the whole cache of every tenant whose invalidation did not land.
        One settler at a time; a tenant stays owed until its bump has landed, so a
        concurrent reader never takes the old tokens for paid."""
        async with self._settling:
            for tenant in sorted(self._owed):
                if not await self._write_tokens(tenant, fresh(FIELDS)):
                    return False
                self._owed.discard(tenant)
        return True

    # -- values --------------------------------------------------------------
    async def forget(self, tenant: str) -> int:
        """Delete every key of ``tenant`` but its generation tokens (an erasure: no
        cached answer may still hold a value), then bump its epoch; how many. Raises
        on a Redis failure: an erasure must not report a cache it could not reach."""
        try:
            return await self._forget(tenant)
        except OUTAGE as exc:  # unlike a read's, this failure must be told
            raise StoreUnavailable(f"Redis: the tenant's keys were not deleted ({exc})") from exc

    async def _forget(self, tenant: str) -> int:
        keep = self.keys.generations(tenant)
        doomed: list[Any] = []
        async for key in self.redis.scan_iter(match=f"zc.*:{{{tenant}}}:*", count=1000):
            if (key.decode() if isinstance(key, bytes) else key) != keep:
                doomed.append(key)
        for i in range(0, len(doomed), 500):
            await self.redis.unlink(*doomed[i : i + 500])
        # Straight to Redis, breaker or not: a process still holding a value of the old
        # epoch in memory (none does: values live in Redis only) would not matter either.
        epoch: dict[Any, Any] = fresh([EPOCH])
        await self.redis.hset(keep, mapping=epoch)
        await self.redis.expire(keep, GENERATIONS_TTL_S)
        return len(doomed)

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
        sealed = [(k, b"0|" + s) for k, v in entries if (s := self._seal(layer, v)) is not None]

        async def op() -> bool:
            pipe = self.redis.pipeline(transaction=False)
            for key, value in sealed:
                pipe.set(key, value, px=int(ttl_s * 1000))
            await pipe.execute()
            return True

        return await self._counted(layer, op, len(sealed))

    async def put_versions(
        self, layer: str, entries: Sequence[tuple[str, Version, Any]], ttl_s: float
    ) -> bool:
        """One pipeline; each value lands only over an older version (VERSIONED_SET)."""
        if not entries:
            return True
        args = [
            (k, v, f"{v[0]}.{v[1]}|".encode() + s)
            for k, v, x in entries
            if (s := self._seal(layer, x)) is not None
        ]

        async def op() -> bool:
            pipe = self.redis.pipeline(transaction=False)
            for key, (born, version), value in args:
                pipe.eval(VERSIONED_SET, 1, key, born, version, value, int(ttl_s * 1000))
            await pipe.execute()
            return True

        return await self._counted(layer, op, len(args))

    def _seal(self, layer: str, value: Any) -> bytes | None:
        """A value that cannot be sealed is left out (an error of the layer), so the
        rest of its batch is still cached and the answer is served from the store."""
        sealed = self.sealer.seal(value)
        if sealed is None:
            self.stats.add(layer, "error")
        return sealed

    async def _counted(self, layer: str, op: Callable[[], Awaitable[bool]], n: int) -> bool:
        done = await self.call(layer, op)
        if done is MISSING:
            return False
        self.stats.add(layer, "fill", n)
        return True

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

    async def locked(self, key: str) -> bool:
        """Whether a filler still holds ``key``'s lock (False when Redis cannot say)."""
        found = await self.call("lock", lambda: self.redis.exists(self.keys.lock(key)))
        return found is not MISSING and bool(found)

    async def unlock(self, key: str, token: str) -> None:
        lock = self.keys.lock(key)
        await self.call("lock", lambda: self.redis.eval(UNLOCK, 1, lock, token))


def _decoded(values: list[Any]) -> dict[str, str]:
    return {f: v.decode() for f, v in zip(FIELDS, values, strict=True) if v is not None}


async def _stopped(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if still running) and wait until it has stopped."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
