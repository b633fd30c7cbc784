"""What measuring a request costs: the Observe layer (record, operation name, metrics,
one JSON log line) around a trivial ASGI app, against the app alone, in one process.

    python -m bench.observe_cost [--requests 20000]

The trivial app leaves what the gate and the view would (the caller, the operation
read). The log line is formatted by observe.logs.JsonFormatter and written to /dev/null,
as a container's stderr would take it; the metrics are a fresh registry.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

import orjson

from auth import Principal
from dal.models import Role
from edge import operation
from edge.gate import STATE_KEY as PRINCIPAL
from edge.observe import Observe
from observe.logs import JsonFormatter
from observe.metrics import Metrics

BODY = orjson.dumps({"query": "query Customer($id: ID!) { customer(id: $id) { id } }",
                     "operationName": "Customer", "variables": {"id": "cus_1"}})  # fmt: skip
ANSWER = orjson.dumps({"data": {"customer": {"id": "cus_1"}}})
OPERATION = operation.Operation(
    "query Customer($id: ID!) { customer(id: $id) { id } }", {"id": "cus_1"}, "Customer", None
)
CALLER = Principal("bench", "u-bench", Role.ADMIN, "bench", "bench@example.com")


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    scope["state"][PRINCIPAL] = CALLER  # what the gate leaves for the layers outside it
    scope["state"][operation.STATE_KEY] = OPERATION  # and what the view read
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": ANSWER})


async def _time(handler: Any, requests: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        scope = {"type": "http", "method": "POST", "path": "/graphql", "query_string": b"",
                 "headers": [], "state": {}}  # fmt: skip
        await handler(scope, receive, send)
    return (time.perf_counter() - started) / requests * 1e6


def main(requests: int) -> None:
    handler = logging.FileHandler("/dev/null")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:], root.level = [handler], logging.INFO
    metrics = Metrics()
    observed = Observe(app, metrics=lambda: metrics)
    bare = asyncio.run(_time(app, requests))
    measured = asyncio.run(_time(observed, requests))
    print(f"{requests} requests, µs each: the app alone {bare:.1f}; with Observe {measured:.1f}")
    print(
        f"  Observe costs {measured - bare:.1f} µs a request ({measured / bare:.1f}x the bare app)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    main(parser.parse_args().requests)
