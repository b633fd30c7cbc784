"""Rate limits after the gate: the caller's tenant and user each take a token.

HTTP 429 (code RATE_LIMITED, ``Retry-After``) when either bucket is empty;
every response to an authenticated request carries the RateLimit headers of
the bucket nearer to empty. Requests the gate let in without an operation
(GraphiQL) take no token; when Redis does not answer, requests pass.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dal.cache.client import Client
from dal.cache.ratelimit import RateLimiter, Verdict
from edge.envelope import RATE_LIMITED, error_response
from edge.gate import principal


class RateLimit:
    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, redis: Callable[[], Client]) -> None:
        self.app, self.limiter, self.redis = app, limiter, redis

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        verdict = await self._take_token(scope)
        if verdict is None:
            await self.app(scope, receive, send)
        elif not verdict.allowed:
            await _refusal(verdict)(scope, receive, send)
        else:
            await self.app(scope, receive, _with_headers(send, verdict.headers()))

    async def _take_token(self, scope: Scope) -> Verdict | None:
        caller = principal(scope) if scope["type"] == "http" else None
        if caller is None:
            return None
        return await self.limiter.check(self.redis(), caller.tenant_id, caller.user_id)


def _refusal(verdict: Verdict) -> ASGIApp:
    seconds = verdict.retry_after
    extensions: dict[str, object] = {"code": RATE_LIMITED, "retryAfter": seconds}
    message = f"too many requests: retry in {seconds} s"
    return error_response(message, extensions, headers=verdict.headers())


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).update(headers)
        await send(message)

    return sending
