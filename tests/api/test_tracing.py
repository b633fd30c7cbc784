"""OpenTelemetry, when enabled: a span per request with the log line's fields, and a
child span per DynamoDB call it made (an in-memory exporter stands for OTLP)."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from observe.tracing import Tracing, from_settings
from server import create_app
from services import Services
from settings import Settings
from tests.conftest import Tenants, token


async def test_a_request_is_a_span_with_its_store_calls_as_children(
    db: Services, settings: Settings, tenants: Tenants
) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    app = create_app(settings, db, tracing=Tracing(provider.get_tracer("test")))
    headers = {"Authorization": f"Bearer {token(tenants.acme, 'u-traced')}"}
    body = {"query": "query Traced { me { id } customers(first: 3) { edges { node { id } } } }"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://z") as c:
        assert (await c.post("/graphql", json=body, headers=headers)).status_code == 200
    spans = exported.get_finished_spans()
    (root,) = [s for s in spans if s.parent is None]
    assert root.name == "POST /graphql Traced"
    attributes = dict(root.attributes or {})
    assert attributes["zebros.tenant"] == tenants.acme
    assert attributes["zebros.code"] == "OK"
    children = [s for s in spans if s.parent is not None]
    assert {s.parent.span_id for s in children if s.parent} == {root.context.span_id}
    count = attributes["zebros.dynamodb_requests"]
    assert isinstance(count, int)
    assert len(children) == count > 0
    # The caller's User record (just in time) is written with its change-log entry.
    assert {s.name for s in children} >= {"DynamoDB.TransactWriteItems", "DynamoDB.Query"}


def test_tracing_is_off_unless_enabled_and_exports_over_otlp() -> None:
    assert Settings().tracing.enabled is False
    made = from_settings("zebros-crm", "http://127.0.0.1:4318/v1/traces")
    assert isinstance(made, Tracing)
