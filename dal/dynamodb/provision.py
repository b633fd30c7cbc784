"""``zebros init``: create every table (with its indexes) and bucket; idempotent."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from dal.boto_errors import DYNAMODB, translated
from dal.dynamodb.tables import STREAM, TENANT_TABLES, TENANTS, Table, create_table_request
from dal.errors import StoreUnavailable
from dal.tenancy.scope import silo_table

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)


async def create_tables(client: DynamoDBClient, prefix: str) -> list[str]:
    """The shared tables (bridge and pool tenants), the tenants registry, and the
    tables and indexes a release added to registered silo tenants' own tables."""
    wanted = {f"{prefix}{t.entity}": t for t in (*TENANT_TABLES, TENANTS)}
    created = await _ensure(client, wanted)
    for tenant_id in await _silos(client, f"{prefix}{TENANTS.entity}"):
        created += await create_silo_tables(client, prefix, tenant_id)
    return created


async def _silos(client: DynamoDBClient, registry: str) -> list[str]:
    """The registered silo tenants (a Scan of the small registry: `zebros init` only)."""
    found: list[str] = []
    args = {
        "TableName": registry,
        "FilterExpression": "#m = :silo",
        "ExpressionAttributeNames": {"#m": "model"},
        "ExpressionAttributeValues": {":silo": {"S": "silo"}},
    }
    async with translated(DYNAMODB, "Scan"):
        async for page in client.get_paginator("scan").paginate(**args):  # type: ignore[arg-type]
            found += [str(i["pk"]["S"]) for i in page.get("Items", [])]
    return found


async def create_silo_tables(client: DynamoDBClient, prefix: str, tenant_id: str) -> list[str]:
    """A silo tenant's own tables, with the same indexes as the shared ones."""
    return await _ensure(
        client, {silo_table(prefix, tenant_id, t.entity): t for t in TENANT_TABLES}
    )


async def _ensure(client: DynamoDBClient, wanted: dict[str, Table]) -> list[str]:
    """Create the missing tables and wait until all are ACTIVE; returns the created names."""
    existing = await _table_names(client)
    todo = [(name, t) for name, t in wanted.items() if name not in existing]
    created = await asyncio.gather(*(_create(client, t, name) for name, t in todo))
    waiter = client.get_waiter("table_exists")
    for name in wanted:
        await waiter.wait(TableName=name, WaiterConfig={"Delay": 1})
    for name, table in wanted.items():
        if name in existing:
            await _add_indexes(client, name, table)
            await _ensure_stream(client, name, table)
    for name, table in wanted.items():
        if table.ttl:
            await _ensure_ttl(client, name, table.ttl)
    return [name for name in created if name]


async def _add_indexes(client: DynamoDBClient, name: str, table: Table) -> None:
    """The indexes a release added to a table that exists: one UpdateTable each (one
    index at a time is all DynamoDB takes), each waited for until ACTIVE."""
    async with translated(DYNAMODB, "DescribeTable"):
        described = (await client.describe_table(TableName=name))["Table"]
    have = {
        i["IndexName"]: i.get("IndexStatus") for i in described.get("GlobalSecondaryIndexes", [])
    }
    request = create_table_request(table, name)
    for index in request.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            if have[index["IndexName"]] != "ACTIVE":  # an earlier init's, still building
                await _active(client, name, index["IndexName"])
            continue
        keys = {k["AttributeName"] for k in index["KeySchema"]}
        attrs = [a for a in request["AttributeDefinitions"] if a["AttributeName"] in keys]
        async with translated(DYNAMODB, "UpdateTable"):
            await client.update_table(
                TableName=name,
                AttributeDefinitions=attrs,
                GlobalSecondaryIndexUpdates=[{"Create": index}],
            )
        log.info("adding index %s to %s", index["IndexName"], name)
        await _active(client, name, index["IndexName"])


async def _ensure_stream(client: DynamoDBClient, name: str, table: Table) -> None:
    """The stream a release turned on for a table that exists (one UpdateTable)."""
    if not table.streamed:
        return
    async with translated(DYNAMODB, "DescribeTable"):
        described = (await client.describe_table(TableName=name))["Table"]
    if described.get("StreamSpecification", {}).get("StreamEnabled"):
        return
    async with translated(DYNAMODB, "UpdateTable"):
        await client.update_table(TableName=name, StreamSpecification=STREAM)  # type: ignore[arg-type]
    log.info("turned on the stream of %s", name)


INDEX_WAIT_S = 3600.0  # a big table's backfill takes a while; a stuck one must not hang init


async def _active(client: DynamoDBClient, name: str, index: str) -> None:
    deadline = time.monotonic() + INDEX_WAIT_S
    while time.monotonic() < deadline:
        async with translated(DYNAMODB, "DescribeTable"):
            described = (await client.describe_table(TableName=name))["Table"]
        states = {
            i["IndexName"]: i.get("IndexStatus")
            for i in described.get("GlobalSecondaryIndexes", [])
        }
        if states.get(index) == "ACTIVE":
            return
        await asyncio.sleep(1)
    raise StoreUnavailable(f"index {index} of {name} is not ACTIVE after {INDEX_WAIT_S:.0f} s")


async def _ensure_ttl(client: DynamoDBClient, name: str, attribute: str) -> None:
    """TTL on, once: DynamoDB refuses to enable it twice."""
    async with translated(DYNAMODB, "DescribeTimeToLive"):
        described = await client.describe_time_to_live(TableName=name)
    if described["TimeToLiveDescription"].get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}:
        return
    async with translated(DYNAMODB, "UpdateTimeToLive"):
        await client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )


async def _table_names(client: DynamoDBClient) -> set[str]:
    names: set[str] = set()
    async with translated(DYNAMODB, "ListTables"):
        async for page in client.get_paginator("list_tables").paginate():
            names.update(page.get("TableNames", []))
    return names


async def _create(client: DynamoDBClient, table: Table, name: str) -> str | None:
    try:
        await client.create_table(**create_table_request(table, name))
    except ClientError as exc:
        # Another `zebros init` won the race: the table is there, which is all we want.
        if exc.response.get("Error", {}).get("Code") == "ResourceInUseException":
            return None
        raise
    log.info("created table %s", name)
    return name
