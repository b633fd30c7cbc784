"""The Prometheus metrics of one app: its own registry, so two apps (tests) never mix.

Requests by operation and outcome, their latency; DynamoDB calls by operation
with latency, throttled attempts and consumed capacity; the cache's counters
per layer (read from ``dal.cache.stats`` at scrape time); rate-limit refusals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from dal.cache.stats import OUTCOMES, Stats
from observe.naming import Names
from observe.record import RequestRecord

# Seconds: a 304 poll is a few ms, a cold nested query a few hundred.
REQUEST_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
RATE_LIMITED = "RATE_LIMITED"
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.names = Names()
        self.requests = Counter(
            "zebros_requests", "GraphQL requests by operation and outcome code",
            ["operation", "code"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "zebros_request_duration_seconds", "GraphQL request latency",
            ["operation"], buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self.rate_limited = Counter(
            "zebros_rate_limited", "requests refused by the rate limits", registry=r
        )
        self.audit_events_unwritten = Counter(
            "zebros_audit_read_events_unwritten",
            "audit events of reads that could not be written", registry=r,
        )  # fmt: skip
        self.dynamodb = Counter(
            "zebros_dynamodb_requests", "DynamoDB calls by operation", ["operation"], registry=r
        )
        self.dynamodb_latency = Histogram(
            "zebros_dynamodb_request_duration_seconds", "DynamoDB call latency (retries included)",
            ["operation"], buckets=STORE_BUCKETS, registry=r,
        )  # fmt: skip
        self.throttles = Counter(
            "zebros_dynamodb_throttles", "DynamoDB attempts refused for capacity",
            ["operation"], registry=r,
        )  # fmt: skip
        self.capacity = Counter(
            "zebros_dynamodb_consumed_capacity", "capacity units DynamoDB reported, by table",
            ["table", "kind"], registry=r,
        )  # fmt: skip

    def request(self, record: RequestRecord) -> None:
        operation = self.names.label(record.operation)
        self.requests.labels(operation, record.code).inc()
        self.latency.labels(operation).observe(record.seconds)
        if record.code == RATE_LIMITED:
            self.rate_limited.inc()

    def store_call(self, operation: str, seconds: float | None, consumed: list[Any]) -> None:
        self.dynamodb.labels(operation).inc()
        if seconds is not None:
            self.dynamodb_latency.labels(operation).observe(seconds)
        kind = "read" if operation in READS else "write"
        for used in consumed:
            table = str(used.get("TableName", "-")).rsplit("-", 1)[-1]  # the entity, not the tenant
            self.capacity.labels(table, kind).inc(float(used.get("CapacityUnits", 0)))

    def audit_unwritten(self, count: int) -> None:
        self.audit_events_unwritten.inc(count)

    def store_throttled(self, operation: str) -> None:
        self.throttles.labels(operation).inc()

    def watch_cache(self, stats: Stats) -> None:
        self.registry.register(CacheCollector(stats))


class CacheCollector(Collector):
    """The cache's own counters, as ``zebros_cache_{outcome}_total{layer}``."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        snapshot = self.stats.snapshot()
        for outcome in OUTCOMES:
            family = CounterMetricFamily(
                f"zebros_cache_{outcome}", f"cache {outcome}s by layer", labels=["layer"]
            )
            for layer, counts in snapshot.items():
                family.add_metric([layer], counts[outcome])
            yield family
