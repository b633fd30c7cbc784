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

from observe.record import StoreMetrics, current

STARTED = "zebros.started"
SPAN = "zebros.span"
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


def _metrics() -> StoreMetrics | None:
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
    if metrics is not None:
        started = context.get(STARTED)
        seconds = None if started is None else time.perf_counter() - started
        metrics.store_call(model.name, seconds, _consumed(parsed.get("ConsumedCapacity")))


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
        metrics.store_throttled(operation.name)
