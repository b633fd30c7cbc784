"""The one error body, ``{"data": null, "errors": [{"message", "extensions": {"code"}}]}``.

Every refusal of the edge, and every failure caught there, is answered with
it, so a client parses one shape whatever went wrong and wherever.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse, Response

BAD_REQUEST = "BAD_REQUEST"
UNAUTHENTICATED = "UNAUTHENTICATED"
RATE_LIMITED = "RATE_LIMITED"
UNAVAILABLE = "UNAVAILABLE"
INTERNAL = "INTERNAL_SERVER_ERROR"
# The HTTP status of a code when it is the whole answer (transport refusals give their own).
STATUS = {UNAUTHENTICATED: 401, RATE_LIMITED: 429, INTERNAL: 500, UNAVAILABLE: 503}


def body(message: str, extensions: Mapping[str, object]) -> dict[str, object]:
    return {"data": None, "errors": [{"message": message, "extensions": dict(extensions)}]}


def _headers(extensions: Mapping[str, object]) -> dict[str, str]:
    """What the code promises in HTTP terms: a challenge, or when to come back."""
    headers = {"WWW-Authenticate": "Bearer"} if extensions.get("code") == UNAUTHENTICATED else {}
    retry_after = extensions.get("retryAfter")
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    return headers


def error_response(
    message: str,
    extensions: Mapping[str, object],
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    code = str(extensions.get("code", INTERNAL))
    return JSONResponse(
        body(message, extensions),
        status_code=status or STATUS.get(code, 400),
        headers=_headers(extensions) | dict(headers or {}),
    )


def bad_request(
    message: str, status: int = 400, headers: Mapping[str, str] | None = None
) -> Response:
    return error_response(message, {"code": BAD_REQUEST}, status, headers)
