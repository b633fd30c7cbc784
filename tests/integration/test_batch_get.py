"""Batch reads: order, gaps, chunking, tenant isolation, and UnprocessedKeys retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import aioboto3
import pytest
import pytest_asyncio

from dal.dynamodb.client import Dynamo
from dal.errors import NotFound, Throttled
from dal.store import Repos, Store
from dal.tenancy.scope import Model
from services import Services
from settings import Settings
from tests.conftest import PREFIX
from tests.integration.proxy import UnprocessingProxy
from tests.integration.records import contact as new_contact
from tests.integration.records import customer
from tests.support import RequestLog

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


async def test_get_many_gives_one_value_per_id_in_order_with_none_for_gaps(repos: Repos) -> None:
    await asyncio.gather(*(repos.customers.create(customer(i)) for i in ("cus_1", "cus_2")))
    ids = ["cus_2", "cus_missing", "cus_1", "", "x" * 300, "cus_2"]
    got = await repos.customers.get_many(ids)
    assert [c.id if c else None for c in got] == ["cus_2", None, "cus_1", None, None, "cus_2"]


async def test_get_many_of_250_ids_makes_three_batch_gets(
    repos: Repos, request_log: RequestLog
) -> None:
    present = {"cus_7", "cus_180", "cus_249"}
    await asyncio.gather(*(repos.customers.create(customer(i)) for i in present))
    request_log.clear()
    ids = [f"cus_{i}" for i in range(250)]
    got = await repos.customers.get_many(ids)
    assert request_log.operations == ["BatchGetItem"] * 3
    assert [c.id if c else None for c in got] == [i if i in present else None for i in ids]


async def test_get_many_fetches_a_repeated_id_once(repos: Repos, request_log: RequestLog) -> None:
    await repos.customers.create(customer("cus_1"))
    request_log.clear()
    got = await repos.customers.get_many(["cus_1"] * 150)
    assert request_log.operations == ["BatchGetItem"]
    assert {c.id if c else None for c in got} == {"cus_1"}


@pytest.mark.isolation
async def test_a_tenant_never_sees_or_changes_another_tenants_record(
    repos: Repos, neighbour: Repos
) -> None:
    acme, globex = repos, neighbour
    await acme.customers.create(customer("cus_1"))
    assert await globex.customers.get("cus_1") is None
    assert await globex.customers.get_many(["cus_1", "cus_1"]) == [None, None]
    with pytest.raises(NotFound):
        await globex.customers.update("cus_1", lambda c: c)
    with pytest.raises(NotFound):
        await globex.customers.delete("cus_1")
    assert (await acme.customers.get_many(["cus_1"]))[0] is not None


@pytest.fixture
def proxy(dynamodb_endpoint: str) -> Iterator[UnprocessingProxy]:
    with UnprocessingProxy(dynamodb_endpoint) as running:
        yield running


@pytest_asyncio.fixture
async def proxied_client(db: Services, proxy: UnprocessingProxy) -> AsyncIterator[DynamoDBClient]:
    session = aioboto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    async with session.client("dynamodb", endpoint_url=proxy.url) as client:
        yield client


def via(client: DynamoDBClient, settings: Settings, repos: Repos, attempts: int = 6) -> Repos:
    """``repos``' tenant, reached through ``client``."""
    dynamo = Dynamo(client, attempts=attempts, backoff=0.001)
    store = Store(dynamo, table_prefix=PREFIX, cursor_secret=settings.cursor_secret())
    return store.for_tenant(repos.scope.tenant_id, repos.scope.model)


async def test_unprocessed_keys_are_retried_until_every_item_is_read(
    repos: Repos,
    proxy: UnprocessingProxy,
    proxied_client: DynamoDBClient,
    settings: Settings,
    model: Model,
) -> None:
    ids = [f"cus_{i}" for i in range(6)]
    await asyncio.gather(*(repos.customers.create(customer(i)) for i in ids))
    proxy.hold = 2
    got = await via(proxied_client, settings, repos).customers.get_many([*ids, "cus_missing"])
    assert [c.id if c else None for c in got] == [*ids, None]
    # 7 keys asked, 3 of 6 items held back; then 2 of those 3; then the last 2 arrive.
    assert proxy.keys_requested == [7, 3, 2]


async def test_keys_never_processed_raise_throttled_after_the_configured_attempts(
    repos: Repos,
    proxy: UnprocessingProxy,
    proxied_client: DynamoDBClient,
    settings: Settings,
    model: Model,
) -> None:
    await repos.customers.create(customer("cus_1"))
    proxy.hold = None
    with pytest.raises(Throttled):
        await via(proxied_client, settings, repos, attempts=3).customers.get_many(["cus_1"])
    assert proxy.batch_gets == 3


async def test_transaction_conflicts_are_retried(
    repos: Repos,
    proxy: UnprocessingProxy,
    proxied_client: DynamoDBClient,
    settings: Settings,
    model: Model,
) -> None:
    await repos.customers.create(customer("cus_1"))
    proxy.conflicts = 2
    contact = new_contact("con_1", "cus_1")
    await via(proxied_client, settings, repos).contacts.create(contact)
    assert proxy.transactions == 3
    assert (await repos.contacts.get("con_1")) is not None


async def test_lasting_transaction_conflicts_raise_throttled(
    repos: Repos,
    proxy: UnprocessingProxy,
    proxied_client: DynamoDBClient,
    settings: Settings,
    model: Model,
) -> None:
    await repos.customers.create(customer("cus_1"))
    proxy.conflicts = 100
    contact = new_contact("con_1", "cus_1")
    with pytest.raises(Throttled):
        await via(proxied_client, settings, repos, attempts=3).contacts.create(contact)
    assert proxy.transactions == 3
    assert (await repos.contacts.get("con_1")) is None
