"""What a customer's files cost to list, with and without their download URLs.

    python -m bench.documents [--customers 20] [--files 10] [--rounds 30]

One process, DynamoDB Local and moto (bench.stack), the app over ASGI. The
baseline is the same page of customers without files; then their files'
metadata (kept in the customer layer after the first request); then the same
with ``url``, which signs one presigned GET per file on every request (local
work, no request to S3). Figures are ms per request and ratios to the baseline,
and the cost of one signature from the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx
import redis.asyncio as aioredis

import auth
from bench.stack import dynamodb_local_stack
from dal.models import Customer, Document, DocumentKind, DocumentStatus, Role
from dal.storage.names import ObjectKey
from dal.storage.objects import Download, Objects
from dal.store import Repos
from dal.timefmt import utcnow
from server import create_app
from services import Services
from settings import DEV_JWT_SECRET

TENANT = "bench-files"
REDIS_URL = os.environ.get("ZEBROS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PAGE = "{ customers(first: 20) { edges { node { id %s } } } }"
# owner { id } has no cache hint: the answer is not kept whole, every field runs.
QUERIES = {
    "customers (baseline)": PAGE % "owner { id }",
    "+ files": PAGE % "owner { id } documents { id size }",
    "+ files and urls": PAGE % "owner { id } documents { id size url }",
    "files, answer kept whole": PAGE % "documents { id size }",
}


async def seed(repos: Repos, customers: int, files: int) -> None:
    now = utcnow()
    for n in range(customers):
        c = await repos.customers.create(
            Customer(id=f"cus_b{n}", company_name=f"Bench {n}", created_at=now, updated_at=now)
        )
        for f in range(files):
            doc_id = f"doc_b{n}x{f}"
            key = ObjectKey(TENANT, c.id, DocumentKind.DOCUMENT, doc_id, f"file {f}.pdf")
            await repos.documents.create(
                Document(
                    id=doc_id, customer_id=c.id, kind=DocumentKind.DOCUMENT, key=str(key),
                    name=f"file {f}.pdf", size=1000 + f, content_type="application/pdf",
                    uploader_id="u-bench", status=DocumentStatus.AVAILABLE,
                    object_version="v1", created_at=now, updated_at=now,
                )
            )  # fmt: skip


async def timed(
    client: httpx.AsyncClient, query: str, rounds: int, headers: dict[str, str]
) -> float:
    await client.post("/graphql", json={"query": query}, headers=headers)  # warm (and fill)
    started = time.perf_counter()
    for _ in range(rounds):
        body = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
        assert "errors" not in body, body
    return (time.perf_counter() - started) / rounds * 1000


async def _redis() -> aioredis.Redis:
    client: aioredis.Redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        raise SystemExit(f"bench.documents needs a Redis at {REDIS_URL}: {exc}") from exc
    await client.flushdb()  # the bench's own database: a fresh cache
    return client


async def main(customers: int, files: int, rounds: int) -> None:
    async with dynamodb_local_stack("bench-files-", await _redis()) as (settings, services):
        await services.store.tenants.create(TENANT, services.store.default_model)
        await seed(services.store.for_tenant(TENANT), customers, files)
        app = create_app(settings, services)
        jwt = auth.mint(DEV_JWT_SECRET, tenant=TENANT, user="u-bench", role=Role.ADMIN)
        headers = {"Authorization": f"Bearer {jwt}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            ms = {name: await timed(client, q, rounds, headers) for name, q in QUERIES.items()}
    base, urls = ms["customers (baseline)"], customers * files
    print(f"{customers} customers x {files} files, {rounds} rounds each (ms per request)")
    for name, value in ms.items():
        print(f"  {name:26s} {value:8.2f} ms  {value / base:5.2f}x baseline")
    per_url = (ms["+ files and urls"] - ms["+ files"]) / urls * 1000
    print(f"  one url field (signed once, then reused): {per_url:.0f} us")
    cold, warm = await signing(services, urls)
    print(f"  signing alone: {cold:.0f} us a url, {warm:.1f} us reused ({warm / cold:.3f}x)")


async def signing(services: Services, count: int) -> tuple[float, float]:
    """Microseconds per download URL: signed anew, and reused within its half-life."""
    objects = Objects(services.s3_client)
    gets = [
        Download("v1", f"attachment; filename=f{n}.pdf", "application/pdf") for n in range(count)
    ]
    times = []
    for _ in range(2):
        started = time.perf_counter()
        for n, get in enumerate(gets):
            await objects.download_url("b", f"t/customers/c/documents/d{n}/f.pdf", get, 300)
        times.append((time.perf_counter() - started) / count * 1e6)
    return times[0], times[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    a = parser.parse_args()
    asyncio.run(main(a.customers, a.files, a.rounds))
