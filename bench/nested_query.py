"""Requests and time for the four-level nested query, against a per-record baseline.

    python -m bench.nested_query [--customers 25]

Both run in the same process against the same in-process moto server and the
same data. The baseline resolves each level the way resolvers without
dataloaders do: one list Query per parent, then one GetItem per record.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette

import auth
from bench.stack import embedded_stack
from dal.models import Role
from dal.records.activity_query import Window
from dal.store import Repos
from dal.timefmt import dump_dt, utcnow
from server import create_app
from tests.api.test_nested_requests import NESTED
from tests.graph import Shape, build
from tests.support import RequestLog

SECRET = "bench-secret-0123456789abcdefghijklmnop"


async def loaders_run(app: Starlette) -> int:
    jwt = auth.mint(SECRET, tenant="bench", user="u-owner", role=Role.ADMIN)
    headers = {"Authorization": f"Bearer {jwt}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        body = (await c.post("/graphql", json={"query": NESTED}, headers=headers)).json()
    return len(body["data"]["customers"]["edges"])


async def _each(ids: list[str], job: Callable[[str], Awaitable[Any]]) -> list[Any]:
    return list(await asyncio.gather(*(job(i) for i in ids)))


async def baseline_run(repos: Repos) -> int:
    """One Query per parent for the ids, then one GetItem per record, level by level."""
    page = await repos.customers.newest(20)
    customers, now = [c.id for c in page.items], dump_dt(utcnow())
    await _each(customers, repos.customers.get)
    contact_pages = await _each(customers, lambda c: repos.contacts.by_customer(c, 20))
    contacts = [r.id for p in contact_pages for r in p.items]
    await _each(contacts, repos.contacts.get)
    opp_pages = await _each(contacts, lambda c: repos.opportunities.by_contact(c, 20))
    opps = [r.id for p in opp_pages for r in p.items]
    await _each(opps, repos.opportunities.get)
    act_pages = await _each(opps, lambda o: repos.activities.by_related(o, now, 20, None, Window()))
    activities = [r.id for p in act_pages for r in p.items]
    await _each(activities, repos.activities.get)
    return len(customers)


async def measure(
    label: str, log: RequestLog, run: Callable[[], Awaitable[int]]
) -> tuple[int, float]:
    best = float("inf")
    for _ in range(3):
        log.clear()
        start = time.perf_counter()
        await run()
        best = min(best, time.perf_counter() - start)
    print(
        f"{label:<30} {len(log):>4} requests {dict(log.counts())}, best of 3: {best * 1e3:.0f} ms"
    )
    return len(log), best


async def main(customers: int) -> None:
    async with embedded_stack(SECRET, "bench-") as (settings, services):
        repos = services.store.for_tenant("bench")
        shape = Shape(customers=customers)
        await build(repos, shape)
        log = RequestLog()
        services.dynamo_client.meta.events.register("before-send.dynamodb", log.hook)
        app = create_app(settings, services)
        await loaders_run(app)  # provisions the caller's user record once
        print(f"graph: {shape}; query: 20 customers x 2 contacts x 2 opportunities x 2 activities")
        ours = await measure("dataloaders (this server)", log, lambda: loaders_run(app))
        base = await measure("per-record GetItem baseline", log, lambda: baseline_run(repos))
        print(
            f"requests: {ours[0]} vs {base[0]} ({base[0] / ours[0]:.2f}x fewer); "
            f"time ratio baseline/ours: {base[1] / ours[1]:.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=25)
    asyncio.run(main(parser.parse_args().customers))
