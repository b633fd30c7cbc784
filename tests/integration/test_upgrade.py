"""`zebros init` over tables an earlier release made: the indexes and tables this
release added appear (the shared ones and every registered silo tenant's).

On a DynamoDB Local of its own: on the suite's, an index added by UpdateTable
was seen to stay CREATING for good once an earlier test had made a silo
tenant's tables (DynamoDB Local 3.3.0; AWS builds it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aioboto3
import pytest
import pytest_asyncio
from types_aiobotocore_dynamodb import DynamoDBClient

from dal.dynamodb.provision import create_tables
from dal.dynamodb.tables import ARCHIVE, CHANGES, TENANTS, Table, create_table_request
from dal.tenancy.scope import Model, silo_table
from tests.dynamodb_local import URL_ENV, DynamoDBLocal, Unavailable

OLD = "upgrade-"
OLD_CHANGES = Table(CHANGES.entity, CHANGES.indexes[:1], sort_key=CHANGES.sort_key, ttl="expiresAt")


@pytest_asyncio.fixture
async def fresh(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DynamoDBClient]:
    monkeypatch.delenv(URL_ENV, raising=False)  # a process of its own, never a shared one
    server = DynamoDBLocal()
    try:
        url = server.start()
    except Unavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    session = aioboto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    try:
        async with session.client("dynamodb", endpoint_url=url) as client:
            yield client
    finally:
        server.stop()


async def _indexes(client: DynamoDBClient, name: str) -> set[str]:
    table = (await client.describe_table(TableName=name))["Table"]
    return {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}


async def test_init_adds_new_indexes_and_tables_to_an_earlier_release(
    fresh: DynamoDBClient,
) -> None:
    client = fresh
    for table, name in ((OLD_CHANGES, f"{OLD}Changes"), (TENANTS, f"{OLD}Tenants")):
        await client.create_table(**create_table_request(table, name))
    silo = "oldsilo"
    await client.put_item(
        TableName=f"{OLD}Tenants", Item={"pk": {"S": silo}, "model": {"S": Model.SILO.value}}
    )
    assert await _indexes(client, f"{OLD}Changes") == {"byRecord"}

    created = await create_tables(client, OLD)
    assert await _indexes(client, f"{OLD}Changes") == {i.name for i in CHANGES.indexes}
    assert f"{OLD}{ARCHIVE.entity}" in created
    assert silo_table(OLD, silo, ARCHIVE.entity) in created  # the silo's own, too
    assert await create_tables(client, OLD) == []  # and once is enough
