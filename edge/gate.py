"""The bearer-token gate.

A request that carries an operation (any POST, or GET with a ``query`` or,
for a persisted query, an ``extensions`` parameter, however encoded) must
authenticate; without a valid token it gets
HTTP 401 (code UNAUTHENTICATED, ``WWW-Authenticate: Bearer``). A GET without
``query`` (GraphiQL) passes without one. The principal is left in the
request's state for the layers inside.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from auth import AuthError, Principal, Verifier
from edge.envelope import UNAUTHENTICATED, error_response

STATE_KEY = "zebros.principal"


class Gate:
    def __init__(self, app: ASGIApp, *, verifier: Callable[[], Verifier]) -> None:
        # A callable: the verifier is opened with the services, after the app is built.
        self.app, self.verifier = app, verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not carries_operation(scope):
            await self.app(scope, receive, send)
            return
        try:
            found = await self.verifier().verify(Headers(scope=scope).get("authorization"))
        except AuthError as exc:
            refusal = error_response(str(exc), {"code": UNAUTHENTICATED})
            await refusal(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = found
        await self.app(scope, receive, send)


PARAMS_KEY = "zebros.query_params"


def carries_operation(scope: Scope) -> bool:
    # Decoded as Strawberry decodes it: "%71uery" is "query" too.
    if scope["method"] != "GET":
        return True
    params = query_params(scope)
    return "query" in params or "extensions" in params


def query_params(scope: Scope) -> QueryParams:
    """The query string, parsed once per request (the gate and the view both read it)."""
    state = scope.setdefault("state", {})
    if PARAMS_KEY not in state:
        state[PARAMS_KEY] = QueryParams(scope.get("query_string", b""))
    params: QueryParams = state[PARAMS_KEY]
    return params


def principal(scope: Scope) -> Principal | None:
    """Who the gate let in; None for a request that carried no operation."""
    found: Principal | None = scope.get("state", {}).get(STATE_KEY)
    return found
