"""The store every benchmark runs against: an in-process moto, tables created, clients open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from dal.dynamodb.provision import create_tables
from embedded import EmbeddedAws
from services import Services, open_services
from settings import Settings


@asynccontextmanager
async def embedded_stack(secret: str, prefix: str) -> AsyncIterator[tuple[Settings, Services]]:
    """Settings pointing at a fresh embedded moto, and services opened on them."""
    aws = EmbeddedAws()
    settings = Settings(
        aws={
            "endpoint_url": aws.start(),
            "access_key_id": "b",
            "secret_access_key": SecretStr("b"),
        },
        auth={"jwt_secret": SecretStr(secret)},
        dynamo={"table_prefix": prefix},
    )
    try:
        async with open_services(settings) as services:
            await create_tables(services.dynamo_client, prefix)
            yield settings, services
    finally:
        aws.stop()
