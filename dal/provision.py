"""``zebros init``: create every table (with its indexes) and bucket; idempotent."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from dal.dynamo import translated
from dal.tables import TABLES, Table, create_table_request

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)


async def create_tables(client: DynamoDBClient, prefix: str) -> list[str]:
    """Create the missing tables and wait until all are ACTIVE; returns the created names."""
    existing = await _table_names(client)
    todo = [t for t in TABLES.values() if f"{prefix}{t.entity}" not in existing]
    created = await asyncio.gather(*(_create(client, t, f"{prefix}{t.entity}") for t in todo))
    waiter = client.get_waiter("table_exists")
    for table in TABLES.values():
        await waiter.wait(TableName=f"{prefix}{table.entity}", WaiterConfig={"Delay": 1})
    return [name for name in created if name]


async def _table_names(client: DynamoDBClient) -> set[str]:
    names: set[str] = set()
    async with translated("ListTables"):
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
