"""The stores the benchmarks run against: an in-process moto, or DynamoDB Local."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fakeredis
from pydantic import SecretStr

from dal.cache.client import Client
from dal.dynamodb.provision import create_tables
from dal.storage.buckets import BucketSettings, create_buckets
from embedded import EmbeddedAws
from services import Services, open_services
from settings import Settings
from tests.dynamodb_local import DIR_ENV, DynamoDBLocal

# Where `make dynamodb-local` puts the jar (the Makefile's DYNAMODB_LOCAL_DIR).
DYNAMODB_LOCAL_DIR = Path.home() / ".cache" / "zebros" / "dynamodb-local-10.3.0"


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


@asynccontextmanager
async def dynamodb_local_stack(
    prefix: str, redis: Client | None = None
) -> AsyncIterator[tuple[Settings, Services]]:
    """DynamoDB Local in memory (as the suite starts it), S3 on moto, ``redis`` or an
    in-process fake (which runs no Lua: the cache stays off); tables and buckets
    created; the dev JWT secret. Raises ``Unavailable`` with what to install when
    DynamoDB Local cannot run."""
    os.environ.setdefault(DIR_ENV, str(DYNAMODB_LOCAL_DIR))
    dynamodb, s3 = DynamoDBLocal(), EmbeddedAws()
    url = dynamodb.start()
    try:
        moto = s3.start()  # S3 and the job queue's SQS
        settings = Settings(
            env="dev",
            aws={
                "dynamodb_endpoint_url": url,
                "s3_endpoint_url": moto,
                "sqs_endpoint_url": moto,
                "access_key_id": "bench",
                "secret_access_key": SecretStr("bench"),
            },
            dynamo={"table_prefix": prefix},
            s3={"bucket_prefix": prefix},
        )
        cache = redis or fakeredis.FakeAsyncRedis()
        async with open_services(settings, redis=cache) as services:
            await create_tables(services.dynamo_client, prefix)
            await create_buckets(services.s3_client, BucketSettings(prefix, settings.aws.region))
            yield settings, services
    finally:
        if s3.endpoint_url:
            s3.stop()
        dynamodb.stop()
