"""``/metrics``: Prometheus text, for operators, never tenant data.

Off unless enabled (on in dev, off in prod unless ZEBROS_METRICS__ENABLED);
with an allow-list, only those client addresses are answered (others 404, as
when off: a scraper's address, not a secret, is the guard). The address is the
peer's: behind a load balancer, that is the balancer's, so block the path there
(or let the scraper reach the container directly) rather than allow its network.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_address, ip_network

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from observe.metrics import Metrics


class MetricsEndpoint:
    def __init__(self, metrics: Callable[[], Metrics | None], allow: list[str]) -> None:
        self.metrics = metrics
        self.allow = [ip_network(a, strict=False) for a in allow]

    async def respond(self, request: Request) -> Response:
        metrics = self.metrics()
        if metrics is None or not self._allowed(request):
            return PlainTextResponse("Not Found", status_code=404)
        body = generate_latest(metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    def _allowed(self, request: Request) -> bool:
        if not self.allow:
            return True
        host = request.client.host if request.client else ""
        try:
            address = ip_address(host)
        except ValueError:
            return False
        # A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
        mapped = getattr(address, "ipv4_mapped", None)
        return any(a in network for a in (address, mapped) if a for network in self.allow)
