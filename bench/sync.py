"""What mobile sync costs: delta reads per change delivered, pushes per second.

    python -m bench.sync [--changes 2000] [--page 200] [--pushes 300]

One process, DynamoDB Local (bench.stack). Figures:

- delta: a device behind by ``--changes`` changes (creates and updates of one
  tenant's customers) pulls them in pages of ``--page``; DynamoDB requests and
  items read per change delivered, and what an idle poll costs;
- write cost: creates per second through the repository with the change log
  against the same creates without it (the baseline, same run);
- push: ``--pushes`` creates through ``syncPush`` (batches of 50) against the
  same creates through ``createCustomer``, one request each (the baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

import auth
from bench.stack import dynamodb_local_stack
from dal.models import Customer, Role
from dal.store import Repos
from dal.sync.reader import ChangeReader
from dal.timefmt import utcnow
from server import create_app
from services import Services, stream_consumer
from settings import DEV_JWT_SECRET

TENANT = "bench-sync"
CREATE = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"
PUSH = """
mutation($input: SyncPushInput!) { syncPush(input: $input) { results { outcome } } }
"""
BATCH = 50


async def _creates(repos: Repos, prefix: str, count: int, concurrency: int = 8) -> float:
    """Creates per second, ``concurrency`` writers at a time."""
    now = utcnow()
    todo = iter(range(count))

    async def writer() -> None:
        for n in todo:
            rec = Customer(
                id=f"cus_{prefix}{n}", company_name=f"B {n}", created_at=now, updated_at=now
            )
            await repos.customers.create(rec)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def write_cost(services: Services, count: int) -> tuple[float, float]:
    logged = services.store.for_tenant(TENANT)
    bare = services.store.for_tenant(TENANT)
    bare.customers.journal = None  # the baseline: the same write without its entry
    return await _creates(bare, "bare", count), await _creates(logged, "logged", count)


async def delta_cost(services: Services, changes: int, page: int) -> None:
    repos = services.store.for_tenant(TENANT)
    reader = ChangeReader(services.store.dynamo, repos.scope)
    settle = stream_consumer(services).settle  # numbers the entries written before it
    await settle()
    positions = await reader.heads()
    await _creates(repos, "delta", changes // 2)
    for n in range(changes - changes // 2):
        await repos.customers.update(f"cus_delta{n % (changes // 2)}", lambda c: c)
    await settle()
    delivered = requests = read = 0
    while True:
        delta = await reader.delta(positions, page, frozenset())
        delivered, requests, read = (
            delivered + len(delta.changes),
            requests + delta.requests,
            read + delta.read,
        )
        positions = delta.positions
        if not delta.has_more:
            break
    idle = await reader.delta(positions, page, frozenset())
    print(f"delta: {delivered} changes in pages of {page}: {requests} requests, {read} items read")
    print(f"  {requests / delivered:.3f} requests and {read / delivered:.2f} items read per change")
    print(f"  an idle poll: {idle.requests} request(s), {idle.read} items")


async def push_rate(services: Services, settings: object, count: int) -> tuple[float, float]:
    app = create_app(settings, services)  # type: ignore[arg-type]
    jwt = auth.mint(DEV_JWT_SECRET, tenant=TENANT, user="u-bench", role=Role.ADMIN)
    headers = {"Authorization": f"Bearer {jwt}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        started = time.perf_counter()
        for n in range(count):
            body = {
                "query": CREATE,
                "variables": {"input": {"id": f"cus_m{n}", "companyName": "M"}},
            }
            assert "errors" not in (await c.post("/graphql", json=body, headers=headers)).json()
        plain = count / (time.perf_counter() - started)
        started = time.perf_counter()
        for first in range(0, count, BATCH):
            batch = [_create(n) for n in range(first, min(first + BATCH, count))]
            variables = {"input": {"clientId": "bench", "mutations": batch}}
            answer = await c.post(
                "/graphql", json={"query": PUSH, "variables": variables}, headers=headers
            )
            results = answer.json()["data"]["syncPush"]["results"]
            assert all(r["outcome"] == "APPLIED" for r in results), results
        pushed = count / (time.perf_counter() - started)
    return plain, pushed


def _create(n: int) -> dict[str, object]:
    return {"clientMutationId": f"p{n}", "entity": "CUSTOMER", "op": "UPSERT", "id": f"cus_p{n}",
            "changes": {"companyName": f"P {n}"}}  # fmt: skip


async def main(changes: int, page: int, pushes: int) -> None:
    async with dynamodb_local_stack("bench-sync-") as (settings, services):
        await services.store.tenants.create(TENANT, services.store.default_model)
        bare, logged = await write_cost(services, 400)
        print(f"write cost: {bare:.0f} creates/s without the change log, {logged:.0f} with it "
              f"({logged / bare:.2f}x)")  # fmt: skip
        await delta_cost(services, changes, page)
        plain, pushed = await push_rate(services, settings, pushes)
        ratio = pushed / plain
        print(f"push: {pushed:.0f} mutations/s through syncPush (batches of {BATCH}), "
              f"{plain:.0f}/s as one createCustomer per request ({ratio:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--page", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=300)
    a = parser.parse_args()
    asyncio.run(main(a.changes, a.page, a.pushes))
