"""Token buckets in Redis: one per tenant, one per user of the tenant.

One Lua script refills both buckets and takes a token from each, or from
neither, atomically; it reads Redis's clock, so the app servers' clocks do not
matter. Keys are ``rl:{tenant}`` and ``rl:{tenant}:{user}``: the braces are a
Redis Cluster hash tag, so both keys of a check live in one slot (a script's
keys must), and tenant ids never hold ``:`` or braces (dal.tenancy.scope), so two
tenants' keys never meet. A bucket's key expires once it would be full again.

Redis is never required: when it fails or is slow (the client's short
timeouts, services.redis_client) requests pass unlimited, a warning is logged
at most once per ``warn_every`` seconds, and Redis is left alone for ``pause``
seconds (a ``Breaker``) so a sick cache costs one timeout, not one per request.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from dal.cache.breaker import OUTAGE, Breaker
from dal.cache.client import Client
from dal.cache.scripts import Script, run_script

log = logging.getLogger("zebros.ratelimit")

# KEYS: the tenant's bucket, the user's. ARGV: rate per second and burst of each.
# Returns allowed, then for each bucket: tokens left, ms until one token, ms until full.
SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local level, rate, burst, allowed = {}, {}, {}, 1
for i = 1, 2 do
  rate[i], burst[i] = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local saved = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens, at = tonumber(saved[1]) or burst[i], tonumber(saved[2]) or now
  level[i] = math.min(burst[i], tokens + math.max(0, now - at) * rate[i] / 1000)
  if level[i] < 1 then allowed = 0 end
end
local out = {allowed}
for i = 1, 2 do
  level[i] = level[i] - allowed
  local full = math.ceil((burst[i] - level[i]) * 1000 / rate[i])
  redis.call('HSET', KEYS[i], 'tokens', level[i], 'at', now)
  redis.call('PEXPIRE', KEYS[i], string.format('%d', full + 1000))
  out[#out + 1] = math.floor(level[i])
  out[#out + 1] = math.ceil(math.max(0, 1 - level[i]) * 1000 / rate[i])
  out[#out + 1] = full
end
return out
"""
BUCKETS = Script(SCRIPT)


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class Bucket:
    limit: int
    remaining: int
    retry_ms: int  # until it holds a token again
    reset_ms: int  # until it is full


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    tenant: Bucket
    user: Bucket

    @property
    def nearest(self) -> Bucket:
        """The bucket closest to empty, which the RateLimit headers describe."""
        return self.tenant if self.tenant.remaining < self.user.remaining else self.user

    @property
    def retry_after(self) -> int:
        """Whole seconds until both buckets hold a token (Retry-After has no fractions)."""
        return max(1, math.ceil(max(self.tenant.retry_ms, self.user.retry_ms) / 1000))

    def headers(self) -> dict[str, str]:
        """IETF draft (httpapi-ratelimit-headers) fields, Reset in delta seconds."""
        bucket = self.nearest
        return {
            "RateLimit-Limit": str(bucket.limit),
            "RateLimit-Remaining": str(bucket.remaining),
            "RateLimit-Reset": str(math.ceil(bucket.reset_ms / 1000)),
        }


def keys(tenant_id: str, user_id: str) -> tuple[str, str]:
    return f"rl:{{{tenant_id}}}", f"rl:{{{tenant_id}}}:{user_id}"


class RateLimiter:
    def __init__(
        self, tenant: Rate, user: Rate, *, warn_every: float = 60.0, pause: float = 5.0
    ) -> None:
        self.tenant, self.user = tenant, user
        self.breaker = Breaker(
            pause, warn_every, off="rate limits off", meanwhile="requests pass unlimited", log=log
        )

    async def check(self, redis: Client, tenant_id: str, user_id: str) -> Verdict | None:
        """Take a token from both buckets; None when Redis did not answer (fail open)."""
        if not self.breaker.allows():
            return None
        try:
            raw = await self._run(redis, keys(tenant_id, user_id))
        except OUTAGE as exc:  # the cache's own definition: fail open on all of it
            self.breaker.failed(exc)
            return None
        self.breaker.succeeded()
        return self._verdict(raw)

    async def _run(self, redis: Client, names: tuple[str, str]) -> list[int]:
        args = (self.tenant.per_second, self.tenant.burst, self.user.per_second, self.user.burst)
        result: list[int] = await run_script(redis, BUCKETS, names, args)
        return result

    def _verdict(self, raw: list[int]) -> Verdict:
        allowed, t_left, t_retry, t_full, u_left, u_retry, u_full = raw
        return Verdict(
            allowed=allowed == 1,
            tenant=Bucket(self.tenant.burst, t_left, t_retry, t_full),
            user=Bucket(self.user.burst, u_left, u_retry, u_full),
        )
