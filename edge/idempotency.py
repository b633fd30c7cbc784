"""``Idempotency-Key`` on ordinary mutations: a web client's retry is safe.

The first request with a key claims it in the same DynamoDB transaction as its
first write (the change log's rider, as a sync push's receipt does), and stores
its answer once it has one; a later request with the key and the same body gets
that answer again (``Idempotent-Replayed: true``), one with another body a 422,
one while the first is still running (or whose answer was lost with its
process) a 409. Keys are per user, 1-64 characters of ``A-Za-z0-9_-``, kept as
long as the change log keeps receipts (90 days by default, at least 24 hours).
A request that wrote nothing and failed for a transient reason keeps no answer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from starlette.requests import Request
from starlette.responses import Response

from auth import Principal
from edge.envelope import error_response
from edge.gate import principal
from edge.operation import Operation
from schema.bounds import Limits
from schema.limits import source_refusal

HEADER = "idempotency-key"
SCOPE_KEY = "zebros.idempotency"  # the claim, for the context builder to hand the journal
KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TRANSIENT = (b'"UNAVAILABLE"', b'"INTERNAL_SERVER_ERROR"')


class Stored(Protocol):
    @property
    def digest(self) -> str: ...

    @property
    def result(self) -> dict[str, Any]: ...


class Keeper(Protocol):
    """Where answers are kept (``dal.sync.receipts.Receipts``)."""

    async def find(self, client_id: str, mutation_id: str) -> Stored | None: ...

    def put(
        self, client_id: str, mutation_id: str, payload_digest: str, result: dict[str, Any]
    ) -> dict[str, Any]: ...

    async def store(
        self, client_id: str, mutation_id: str, payload_digest: str, result: dict[str, Any]
    ) -> bool: ...

    async def finish(self, client_id: str, mutation_id: str, result: dict[str, Any]) -> None: ...


@dataclass
class Claim:
    """One request's key: the write that carries it, and whether that write committed."""

    keeper: Keeper
    client: str
    key: str
    digest: str
    committed: Callable[[], bool] = lambda: False

    def operation(self) -> dict[str, Any]:
        return self.keeper.put(self.client, self.key, self.digest, {"pending": True})


class Idempotency:
    def __init__(self, keeper: Callable[[Principal], Awaitable[Keeper]], limits: Limits) -> None:
        self._keeper, self._limits = keeper, limits

    async def run(
        self, request: Request, op: Operation | None, answer: Callable[[], Awaitable[Response]]
    ) -> Response:
        key, caller = request.headers.get(HEADER), principal(request.scope)
        if key is None or caller is None or op is None or not _mutation(op, self._limits):
            return await answer()
        if not KEY.fullmatch(key):
            message = "Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 _ -"
            return error_response(message, {"code": "BAD_REQUEST"}, 400)
        keeper = await self._keeper(caller)
        claim = Claim(keeper, client_of(caller.user_id), key, _digest(op))
        found = await keeper.find(claim.client, key)
        if found is not None:
            return _replayed(found, claim.digest)
        request.scope[SCOPE_KEY] = claim
        response = await answer()
        await _keep(claim, response)
        return response


async def _keep(claim: Claim, response: Response) -> None:
    body = bytes(response.body)
    result = {"status": response.status_code, "body": body.decode()}
    if claim.committed():
        await claim.keeper.finish(claim.client, claim.key, result)
    elif not any(code in body for code in TRANSIENT):
        await claim.keeper.store(claim.client, claim.key, claim.digest, result)


def _replayed(found: Stored, digest: str) -> Response:
    if found.digest != digest:
        message = "this Idempotency-Key was used for another request"
        return error_response(message, {"code": "BAD_USER_INPUT"}, 422)
    if "status" not in found.result:
        message = "a request with this Idempotency-Key is in progress, or its answer was lost"
        return error_response(message, {"code": "CONFLICT"}, 409)
    headers = {"idempotent-replayed": "true"}
    body = str(found.result["body"]).encode()
    status = int(found.result["status"])
    return Response(body, status, headers=headers, media_type="application/json")


def _mutation(op: Operation, limits: Limits) -> bool:
    """A mutation within the size and token limits: parsed only then (one past them
    is refused unparsed by the limits, and claims no key)."""
    if op.query is None or source_refusal(op.query, limits) is not None:
        return False
    try:
        document = parse(op.query)
    except GraphQLSyntaxError:
        return False
    chosen = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (
            op.operation_name is None or (d.name is not None and d.name.value == op.operation_name)
        )
    ]
    return any(d.operation is OperationType.MUTATION for d in chosen)


def client_of(user_id: str) -> str:
    """The key's owner: the user (hashed: a subject may hold any character)."""
    return "http-" + hashlib.sha256(user_id.encode()).hexdigest()[:24]


def _digest(op: Operation) -> str:
    what = repr((op.query, op.variables, op.operation_name))
    return hashlib.sha256(what.encode()).hexdigest()
