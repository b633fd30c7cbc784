"""The long-lived clients of one process, opened together and closed together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aioboto3
import redis.asyncio as aioredis
from aiobotocore.config import AioConfig
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from auth import Verifier
from dal.cache.breaker import Breaker
from dal.cache.client import Cache, Client
from dal.cache.flight import Flight
from dal.dynamodb.client import Dynamo
from dal.jobs.files import JobFiles
from dal.jobs.queue import Queue
from dal.models import DocumentKind, Entity
from dal.storage.buckets import BucketSettings
from dal.storage.objects import Blobs, Objects
from dal.storage.uploads import UploadLimits
from dal.store import FileStore, Store
from dal.streams.apply import Applier
from dal.streams.archive import Archiver
from dal.streams.changes import Scopes
from dal.streams.consumer import Consumer
from jobs.handlers import HANDLERS
from jobs.worker import Tuning, Worker
from resolvers.context import PageLimits
from resolvers.loaders import RecordHints
from schema import build_schema, record_hints
from schema import release as schema_release
from settings import Settings

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_sqs import SQSClient

log = logging.getLogger("zebros")


@dataclass
class Services:
    dynamo_client: DynamoDBClient
    s3_client: S3Client
    redis: Client
    store: Store
    verifier: Verifier
    limits: PageLimits
    settings: Settings
    cache: Cache
    flight: Flight
    records: RecordHints
    sqs_client: SQSClient
    queue: Queue
    streams_client: Any  # dynamodbstreams (no type stubs installed): the stream consumer's


def _boto_config(settings: Settings, **extra: Any) -> AioConfig:
    # botocore's legacy retries spend ~25 s on one throttled call; "standard"
    # with 3 attempts and short timeouts keeps a sick dependency cheap.
    aws = settings.aws
    return AioConfig(
        retries={"mode": "standard", "max_attempts": aws.max_attempts},
        connect_timeout=aws.connect_timeout,
        read_timeout=aws.read_timeout,
        max_pool_connections=64,
        **extra,
    )


def _session(settings: Settings) -> aioboto3.Session:
    secret = settings.aws.secret_access_key
    return aioboto3.Session(
        aws_access_key_id=settings.aws.access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        region_name=settings.aws.region,
    )


def redis_client(settings: Settings) -> Client:
    # The asyncio Retry (redis.asyncio.retry): redis-py 6+ warns on the synchronous one.
    # redis-py waits 5 s and retries 10 times by default: a paused Redis would
    # stall requests for a minute. The cache is never required to answer.
    timeout = settings.redis.timeout
    if settings.redis.cluster:
        # The cluster client retries on its own too: a paused node would cost seconds.
        return RedisCluster.from_url(
            settings.redis.url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
    # One retry on a dropped connection (a restarted Redis), none on a timeout.
    return aioredis.Redis.from_url(
        settings.redis.url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
    )


def redis_where(client: Client) -> str:
    """Where a client's Redis is, for the start-up line: host, port and db, never the
    URL (it may carry a password)."""
    if isinstance(client, RedisCluster):
        node = client.get_default_node()
        return f"Redis Cluster at {node.host}:{node.port}" if node else "Redis Cluster"
    given = client.connection_pool.connection_kwargs
    place = given.get("path") or f"{given.get('host', '?')}:{given.get('port', '?')}"
    return f"Redis at {place}/{given.get('db', 0)}"


def bucket_settings(settings: Settings) -> BucketSettings:
    given = settings.s3
    return BucketSettings(
        prefix=given.bucket_prefix,
        region=settings.aws.region,
        kms_key_id=given.kms_key_id,
        cors_origins=tuple(given.cors_origins),
        noncurrent_days=given.noncurrent_retention_days,
    )


def file_store(settings: Settings, s3: S3Client) -> FileStore:
    given, names = settings.uploads, bucket_settings(settings).names()
    limits = UploadLimits(
        max_bytes=given.max_bytes,
        multipart_threshold=given.multipart_threshold_bytes,
        part_bytes=given.part_bytes,
        ticket_seconds=given.ticket_seconds,
        multipart_seconds=given.multipart_ticket_seconds,
        download_seconds=given.download_seconds,
        content_types=frozenset(t.lower() for t in given.content_types),
    )
    buckets = {kind: names[kind.value] for kind in DocumentKind}
    return FileStore(Objects(s3), buckets, limits)


def job_files(settings: Settings, s3: S3Client, objects: Objects) -> JobFiles:
    given = settings.jobs
    return JobFiles(
        Blobs(s3, objects),
        bucket_settings(settings).names(),
        url_seconds=given.result_url_seconds,
        upload_seconds=settings.uploads.ticket_seconds,
        import_max_bytes=given.import_max_bytes,
    )


async def job_queue(settings: Settings, sqs: SQSClient) -> Queue:
    given = settings.jobs
    if given.queue_url:
        return Queue(sqs, given.queue_url)
    name = f"{settings.dynamo.table_prefix}jobs"
    return await Queue.named(sqs, name, given.visibility_seconds)


def job_worker(services: Services) -> Worker:
    """The job worker over these clients (in-process, ``zebros worker``, the Lambda)."""
    given, files = services.settings.jobs, services.store.job_files
    if files is None:
        raise RuntimeError("the store has no S3: jobs cannot run")
    tuning = Tuning(given.lease_seconds, given.chunk_rows, given.concurrency, given.import_max_rows)
    schema = build_schema()
    settle = stream_consumer(services).settle  # an erasure's archive is complete first
    return Worker(
        services.store, services.queue, files, schema, HANDLERS, tuning, services.limits, settle
    )


def stream_consumer(services: Services) -> Consumer:
    """The stream consumer over these clients (in-process, ``zebros worker``, tests)."""
    store = services.store
    scopes = Scopes(store.tenants, store.table_prefix, store.default_time_zone)
    archiver = Archiver(store.dynamo, scopes)
    applier = Applier(store.dynamo, scopes, store.cache, archiver.operations)
    return Consumer(services.streams_client, applier, store.table_prefix)


def verifier(settings: Settings) -> Verifier:
    auth = settings.auth
    return Verifier(
        secret=settings.jwt_secret(),
        jwks_url=auth.jwks_url,
        issuer=auth.issuer,
        audience=auth.audience,
        leeway=auth.leeway_seconds,
    )


async def _warm(client: Client) -> None:
    """A cluster client learns its slots before the first requests, not during them:
    redis-py's asyncio cluster client, initialised by many concurrent commands,
    has failed some of them (a connection dropped under another's feet). Redis
    down at start-up is no failure: the client initialises on first use then."""
    if isinstance(client, RedisCluster):
        with suppress(Exception):
            await client.initialize()


def cache(settings: Settings, redis: Client, release: str) -> Cache:
    given = settings.cache
    return Cache(
        redis,
        secret=settings.cache_secret(),
        release=release,
        breaker=Breaker(pause=given.breaker_pause_seconds),
        enabled=given.enabled,
    )


@asynccontextmanager
async def open_services(
    settings: Settings, redis: Client | None = None, release: str | None = None
) -> AsyncIterator[Services]:
    """Open every client once; ``redis`` overrides the configured one (embedded fake)."""
    session, aws = _session(settings), settings.aws
    async with AsyncExitStack() as stack:
        dynamo = await stack.enter_async_context(
            session.client(
                "dynamodb", endpoint_url=aws.dynamodb_endpoint, config=_boto_config(settings)
            )
        )
        # Path-style addressing: MinIO or moto behind a plain endpoint have no bucket DNS.
        style = {"addressing_style": "path"} if aws.s3_endpoint else {}
        s3_config = _boto_config(settings, signature_version="s3v4", s3=style)
        s3 = await stack.enter_async_context(
            session.client("s3", endpoint_url=aws.s3_endpoint, config=s3_config)
        )
        sqs = await stack.enter_async_context(
            session.client("sqs", endpoint_url=aws.sqs_endpoint, config=_boto_config(settings))
        )
        queue = await job_queue(settings, sqs)
        # DynamoDB Streams answers at the DynamoDB endpoint (DynamoDB Local, moto).
        streams = await stack.enter_async_context(
            session.client(
                "dynamodbstreams",
                endpoint_url=aws.dynamodb_endpoint,
                config=_boto_config(settings),
            )
        )
        client = redis or redis_client(settings)
        stack.push_async_callback(client.aclose)
        await _warm(client)
        if redis is None:  # the configured one (embedded mode says which it chose)
            log.info("cache: %s", redis_where(client))
        cached = cache(settings, client, release or schema_release())
        flight = Flight(cached)
        # Closed before the client (the stack runs last-in first): their tasks use it.
        stack.push_async_callback(cached.aclose)
        stack.push_async_callback(flight.aclose)
        hints = record_hints()
        tenancy = settings.tenancy
        files = file_store(settings, s3)
        store = Store(
            Dynamo(dynamo),
            table_prefix=settings.dynamo.table_prefix,
            cursor_secret=settings.cursor_secret(),
            default_model=tenancy.default_model,
            default_time_zone=tenancy.default_time_zone,
            register_unknown=tenancy.registers_unknown(settings.env),
            cache=cached if cached.enabled else None,
            record_ttl_s=hints[Entity.CUSTOMER.value][1],
            files=files,
            change_retention_s=settings.sync.retention_days * 86400,
            sync_strategy=settings.sync.strategy,
            job_files=job_files(settings, s3, files.objects),
            queue=queue,
        )
        limits = PageLimits(settings.limits.default_page_size, settings.limits.max_page_size)
        yield Services(
            dynamo,
            s3,
            client,
            store,
            verifier(settings),
            limits,
            settings,
            cached,
            flight,
            hints,
            sqs,
            queue,
            streams,
        )
