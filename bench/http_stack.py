"""The stores behind ``bench/http.py``: DynamoDB Local (as the suite starts it), S3 on
moto, tables and buckets created, one tenant seeded through the GraphQL API; and
the environment that points a separate server process at them.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

import auth
from bench.stack import dynamodb_local_stack
from bench.write_cost import (
    CALLER,
    COMPLETE,
    STAGES,
    Api,
    activity_in,
    customer_in,
    opportunity_in,
)
from dal.models import Role
from server import create_app
from settings import Settings

CUSTOMERS, OPPORTUNITIES, ACTIVITIES = 20, 30, 30
DAY = timedelta(days=1)
TOKEN_TTL = 3 * 3600


@dataclass(frozen=True, slots=True)
class Seeded:
    tenant: str
    token: str  # the ADMIN caller's bearer token
    customer: str  # the id scenario b reads
    env: dict[str, str]  # ZEBROS_ variables of a server process over these stores


def server_env(settings: Settings, redis_url: str) -> dict[str, str]:
    aws = settings.aws
    secret = aws.secret_access_key.get_secret_value() if aws.secret_access_key else ""
    return {
        "ZEBROS_ENV": "dev",
        "ZEBROS_AWS__DYNAMODB_ENDPOINT_URL": aws.dynamodb_endpoint_url or "",
        "ZEBROS_AWS__S3_ENDPOINT_URL": aws.s3_endpoint_url or "",
        "ZEBROS_AWS__ACCESS_KEY_ID": aws.access_key_id or "",
        "ZEBROS_AWS__SECRET_ACCESS_KEY": secret,
        "ZEBROS_DYNAMO__TABLE_PREFIX": settings.dynamo.table_prefix,
        "ZEBROS_S3__BUCKET_PREFIX": settings.s3.bucket_prefix,
        "ZEBROS_REDIS__URL": redis_url,
    }


async def seed(api: Api, now: datetime) -> str:
    """A rep, customers, opportunities in every stage, the caller's activities a month
    either side of now (some today, some overdue, some completed); the first customer."""
    me = await api.me()
    rep = await api.create(
        "User", {"username": "rep1", "email": "rep1@example.com", "role": "SALES_REP"}
    )
    owners = (me, rep)
    customers = [
        await api.create("Customer", customer_in(i, owners[i % 2])) for i in range(CUSTOMERS)
    ]
    deals = []
    for j in range(OPPORTUNITIES):
        values = opportunity_in(customers[j % CUSTOMERS], j, now.date(), stage=STAGES[j % 6])
        deals.append(await api.create("Opportunity", values | {"ownerId": owners[j % 2]}))
    midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
    for k in range(ACTIVITIES):
        when = now + ((k * 37) % 61 - 30) * DAY
        if k % 5 == 3:  # today's
            when = midnight + timedelta(minutes=(k * 53) % 1440)
        related = (customers[k % CUSTOMERS], deals[k % OPPORTUNITIES])[k % 2]
        act = await api.create("Activity", activity_in(related, k, when, me))
        if when < now and k % 3 == 0:
            await api(COMPLETE, {"id": act, "at": (now - timedelta(hours=1)).isoformat()})
    return customers[0]


@asynccontextmanager
async def seeded_stack(redis_url: str) -> AsyncIterator[Seeded]:
    """Stores up and seeded; gone when the block ends. Raises ``Unavailable``."""
    prefix = f"http{os.getpid()}-"
    tenant = f"bench-http-{int(time.time())}"  # fresh: nothing of it in the shared Redis
    async with dynamodb_local_stack(prefix) as (settings, services):
        secret = settings.jwt_secret() or ""
        transport = httpx.ASGITransport(app=create_app(settings, services))
        async with httpx.AsyncClient(transport=transport, base_url="http://seed") as client:
            began = time.perf_counter()
            customer = await seed(Api(client, secret, tenant), datetime.now(UTC))
        took = time.perf_counter() - began
        print(f"seeded {tenant}: {CUSTOMERS} customers, {OPPORTUNITIES} opportunities, "
              f"{ACTIVITIES} activities in {took:.1f} s", flush=True)  # fmt: skip
        token = auth.mint(secret, tenant=tenant, user=CALLER, role=Role.ADMIN, ttl=TOKEN_TTL)
        yield Seeded(tenant, token, customer, server_env(settings, redis_url))
