"""Optional OpenTelemetry traces: a span per request, a child span per DynamoDB call.

Off unless ``ZEBROS_TRACING__ENABLED``; the SDK and the OTLP exporter are the
``tracing`` extra, imported only when it is on. Spans carry what the log line
carries (ids, names, counts, codes), never a record's values.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from observe.record import RequestRecord

INSTRUMENTATION = "zebros"


class Tracing:
    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def request(self, method: str, path: str) -> AbstractContextManager[Span]:
        """The request's span, current while it runs (DynamoDB spans become its children)."""
        from opentelemetry.trace import SpanKind

        return self.tracer.start_as_current_span(f"{method} {path}", kind=SpanKind.SERVER)

    def finish(self, span: Span, record: RequestRecord) -> None:
        span.update_name(f"{record.method} {record.path} {record.operation}")
        for name, value in record.fields().items():
            if isinstance(value, str | int | float):
                span.set_attribute(f"zebros.{name}", value)
        if record.status >= 500:
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, record.code))

    def store_call(self, operation: str) -> Span:
        from opentelemetry.trace import SpanKind

        span = self.tracer.start_span(f"DynamoDB.{operation}", kind=SpanKind.CLIENT)
        span.set_attribute("db.system", "dynamodb")
        span.set_attribute("rpc.method", operation)
        return span


def from_settings(service: str, endpoint: str | None) -> Tracing:
    """Spans exported over OTLP/HTTP to ``endpoint`` (the exporter's default, or
    OTEL_EXPORTER_OTLP_ENDPOINT, when None), in batches off the request path."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise RuntimeError(
            "ZEBROS_TRACING__ENABLED needs the tracing extra: pip install 'zebros-crm[tracing]'"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter: Any = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider.get_tracer(INSTRUMENTATION))
