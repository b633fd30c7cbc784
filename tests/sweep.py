"""Every store searched for strings, the way an auditor would: each DynamoDB table
of the suite (a Scan: this is the check, not an access pattern), every S3 object
version of a tenant (and every key), every Redis key of a tenant and its value."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from services import Services
from tests.conftest import PREFIX


def _hits(text: str, needles: Iterable[str]) -> set[str]:
    lowered = text.lower()
    return {n for n in needles if n.lower() in lowered}


async def dynamodb(db: Services, needles: Iterable[str]) -> Counter[str]:
    """Per table, the items holding any needle (any attribute, keys included)."""
    wanted, found = list(needles), Counter[str]()
    client = db.dynamo_client
    names = (await client.list_tables(Limit=100))["TableNames"]
    for name in (n for n in names if n.startswith(PREFIX)):
        async for page in client.get_paginator("scan").paginate(TableName=name):
            for item in page.get("Items", []):
                if _hits(json.dumps(item, default=str), wanted):
                    found[name] += 1
    return found


async def s3(db: Services, tenant: str, needles: Iterable[str]) -> Counter[str]:
    """Per bucket, the object versions (and keys) of the tenant holding any needle."""
    wanted, found, client = list(needles), Counter[str](), db.s3_client
    buckets = [b["Name"] for b in (await client.list_buckets())["Buckets"]]
    for bucket in (b for b in buckets if b.startswith(PREFIX)):
        pages = client.get_paginator("list_object_versions")
        async for page in pages.paginate(Bucket=bucket, Prefix=f"{tenant}/"):
            for marker in page.get("DeleteMarkers", []):
                found[bucket] += bool(_hits(marker["Key"], wanted))
            for v in page.get("Versions", []):
                body = await _body(client, bucket, v["Key"], v["VersionId"])
                found[bucket] += bool(_hits(v["Key"] + body, wanted))
    return +found


async def _body(client: Any, bucket: str, key: str, version: str) -> str:
    extra = {} if version == "null" else {"VersionId": version}
    got = await client.get_object(Bucket=bucket, Key=key, **extra)
    async with got["Body"] as stream:
        data: bytes = await stream.read()
    return data.decode("utf-8", errors="replace")


async def redis(db: Services, tenant: str, needles: Iterable[str]) -> int:
    """Redis keys of the tenant whose name or value holds any needle."""
    wanted, found = list(needles), 0
    async for key in db.redis.scan_iter(match=f"*{{{tenant}}}*", count=1000):
        kind = _text(await db.redis.type(key))
        value: Any = b""
        if kind == "string":
            value = await db.redis.get(key)
        elif kind == "hash":
            value = repr(await db.redis.hgetall(key))
        found += bool(_hits(_text(key) + _text(value or b""), wanted))
    return found


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
