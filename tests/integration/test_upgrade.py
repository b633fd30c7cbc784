"""`zebros init` over tables an earlier release made: the indexes and tables this
release added appear (the shared ones and every registered silo tenant's)."""

from __future__ import annotations

from dal.dynamodb.provision import create_tables
from dal.dynamodb.tables import ARCHIVE, CHANGES, TENANTS, Table, create_table_request
from dal.tenancy.scope import Model, silo_table
from services import Services
from tests.support import RequestLog

OLD = "upgrade-"  # tables of their own: the suite's shared ones stay as they are
OLD_CHANGES = Table(CHANGES.entity, CHANGES.indexes[:1], sort_key=CHANGES.sort_key, ttl="expiresAt")


async def _indexes(services: Services, name: str) -> set[str]:
    table = (await services.dynamo_client.describe_table(TableName=name))["Table"]
    return {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}


async def test_init_adds_new_indexes_and_tables_to_an_earlier_release(
    services: Services, request_log: RequestLog
) -> None:
    client = services.dynamo_client
    for table, name in ((OLD_CHANGES, f"{OLD}Changes"), (TENANTS, f"{OLD}Tenants")):
        await client.create_table(**create_table_request(table, name))
    silo = "oldsilo"
    await client.put_item(
        TableName=f"{OLD}Tenants", Item={"pk": {"S": silo}, "model": {"S": Model.SILO.value}}
    )
    assert await _indexes(services, f"{OLD}Changes") == {"byRecord"}

    created = await create_tables(client, OLD)
    assert await _indexes(services, f"{OLD}Changes") == {i.name for i in CHANGES.indexes}
    assert f"{OLD}{ARCHIVE.entity}" in created
    assert silo_table(OLD, silo, ARCHIVE.entity) in created  # the silo's own, too
    assert await create_tables(client, OLD) == []  # and once is enough
    # `zebros init` lists the silo tenants with a Scan of the registry: an admin
    # command over a small table, not an access pattern of a request.
    request_log.scans = 0
