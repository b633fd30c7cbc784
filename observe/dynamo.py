"""botocore hooks on the DynamoDB client: every call counted, timed and charged.

Registered once per client, however many apps share it (the tests build
hundreds): a call counts into the request it serves and that request's app's
metrics, both found through ``observe.record``; calls outside a request (the
CLI, start-up) are not counted. Each call asks DynamoDB for its consumed
capacity (``ReturnConsumedCapacity=TOTAL`` where the operation takes it,
unless the caller asked otherwise), so the figures are DynamoDB's own.
"""

from __future__ import annotations

import time
from typing import Any

from observe.metrics import Metrics
from observe.record import current

STARTED = "zebros.started"
SPAN = "zebros.span"
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


MARK = "_zebros_instrumented"


def instrument(client: Any) -> None:
    if getattr(client, MARK, False):
        return
    events = client.meta.events
    events.register("provide-client-params.dynamodb", _ask_capacity)
    events.register("before-call.dynamodb", _started)
    events.register("after-call.dynamodb", _finished)
    events.register("needs-retry.dynamodb", _throttled)
    setattr(client, MARK, True)


def _metrics() -> Metrics | None:
    record = current()
    return None if record is None else record.metrics


def _ask_capacity(params: dict[str, Any], model: Any, **_: Any) -> None:
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")


def _started(context: dict[str, Any], model: Any, **_: Any) -> None:
    context[STARTED] = time.perf_counter()
    record = current()
    if record is not None and record.tracing is not None:
        context[SPAN] = record.tracing.store_call(model.name)


def _finished(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    record, metrics = current(), _metrics()
    if record is not None:
        record.dynamodb_requests += 1
    span = context.pop(SPAN, None)
    if span is not None:
        span.set_attribute("zebros.error", str(parsed.get("Error", {}).get("Code", "")))
        span.end()
    if metrics is None:
        return
    operation = model.name
    metrics.dynamodb.labels(operation).inc()
    if STARTED in context:
        metrics.dynamodb_latency.labels(operation).observe(time.perf_counter() - context[STARTED])
    kind = "read" if operation in READS else "write"
    for used in _consumed(parsed.get("ConsumedCapacity")):
        table = str(used.get("TableName", "-")).rsplit("-", 1)[-1]  # the entity, not the tenant
        metrics.capacity.labels(table, kind).inc(float(used.get("CapacityUnits", 0)))


def _consumed(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _throttled(response: Any, operation: Any, **_: Any) -> None:
    """Each attempt botocore is about to retry: a throttle if DynamoDB said so."""
    metrics = _metrics()
    if (
        metrics is None
        or not isinstance(response, tuple)
        or len(response) < 2
        or not isinstance(response[1], dict)
    ):
        return
    code = response[1].get("Error", {}).get("Code")
    if code in THROTTLED:
        metrics.throttles.labels(operation.name).inc()
