"""Settings, read from the environment (prefix ``ZEBROS_``, nested with ``__``).

Only ``server.py`` builds a :class:`Settings`; every other module receives the
values it needs through its constructor.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dal.sync.merge import Strategy
from dal.tenancy.scope import Model

# Good enough for a laptop, refused in prod (see Settings._prod_is_safe).
DEV_JWT_SECRET = "zebros-dev-secret-not-for-production-0123456789"


class AwsSettings(BaseModel):
    # Where DynamoDB and S3 answer. None for both means embedded mode in dev (an
    # in-process moto server) and real AWS in prod. ``endpoint_url`` sets both;
    # the per-store ones win (DynamoDB Local and MinIO run on different ports).
    endpoint_url: str | None = None
    dynamodb_endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    sqs_endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 3

    @property
    def dynamodb_endpoint(self) -> str | None:
        return self.dynamodb_endpoint_url or self.endpoint_url

    @property
    def s3_endpoint(self) -> str | None:
        return self.s3_endpoint_url or self.endpoint_url

    @property
    def sqs_endpoint(self) -> str | None:
        return self.sqs_endpoint_url or self.endpoint_url


class DynamoSettings(BaseModel):
    table_prefix: str = "zebros-"


class S3Settings(BaseModel):
    bucket_prefix: str = "zebros-"
    # SSE-KMS with this key (id or ARN); None: SSE-S3 (AES256).
    kms_key_id: str | None = None
    # Origins whose pages may upload to the buckets from a browser (CORS).
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:8000", "http://127.0.0.1:8000"]
    )
    # Versioned buckets keep deleted or overwritten files this long (README "Documents").
    noncurrent_retention_days: int = Field(30, ge=1)


MIB = 1024 * 1024
# What a presigned upload may carry (README "Documents"): office files, PDFs,
# images, text, archives and e-mails; nothing a browser would run as a page.
CONTENT_TYPES = (
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/zip",
    "application/octet-stream",
    "text/plain",
    "text/csv",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "message/rfc822",
)


class UploadSettings(BaseModel):
    # GraphQL's Int is 32 bits: sizes are at most 2 GiB - 1 whatever this says.
    max_bytes: int = Field(1024 * MIB, ge=1, le=2**31 - 1)
    # Larger files go through startMultipartUpload; smaller ones through a form POST.
    multipart_threshold_bytes: int = Field(64 * MIB, ge=5 * MIB)
    # S3 takes parts of 5 MiB (all but the last) up to 10,000 of them.
    part_bytes: int = Field(16 * MIB, ge=5 * MIB)
    ticket_seconds: int = Field(900, ge=60, le=7 * 86_400)
    # Part URLs live longer: a large file over a slow link takes hours.
    multipart_ticket_seconds: int = Field(6 * 3600, ge=60, le=7 * 86_400)
    download_seconds: int = Field(300, ge=10, le=7 * 86_400)
    content_types: list[str] = Field(default_factory=lambda: list(CONTENT_TYPES))


class RedisSettings(BaseModel):
    url: str = "redis://127.0.0.1:6379/0"
    # A Redis Cluster (ElastiCache with cluster mode): ``url`` names one of its nodes.
    cluster: bool = False
    # redis-py defaults (5 s, 10 retries) stall a request for a minute on a sick cache.
    timeout: float = 0.1


class CacheSettings(BaseModel):
    # Off: every read goes to DynamoDB, no ETag, no response cache (persisted
    # queries still work, from process memory).
    enabled: bool = True
    # After Redis fails, it is left alone this long; then one request tries it.
    breaker_pause_seconds: float = Field(2.0, ge=0)
    persisted_query_ttl_seconds: int = Field(86_400, ge=1)


class AuthSettings(BaseModel):
    jwt_secret: SecretStr | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: int = 30
    # Signs pagination cursors; derived from jwt_secret when unset.
    cursor_secret: SecretStr | None = None


class TenancySettings(BaseModel):
    # A tenant not in the registry: None = registered on first use in dev (with
    # the defaults below), refused in prod (`zebros tenant create` registers it).
    register_unknown: bool | None = None
    default_model: Model = Model.BRIDGE
    # Reports bucket days in the tenant's zone; fixed when it is registered.
    default_time_zone: str = "UTC"

    def registers_unknown(self, env: str) -> bool:
        return env == "dev" if self.register_unknown is None else self.register_unknown


class LimitsSettings(BaseModel):
    default_page_size: int = 20
    max_page_size: int = 100
    # Document limits, checked before a document runs (README: "The GraphQL edge").
    max_depth: int = Field(15, ge=1)
    max_aliases: int = Field(15, ge=0)
    max_tokens: int = Field(1000, ge=1)
    max_characters: int = Field(15_000, ge=1)
    max_root_fields: int = Field(20, ge=1)
    max_directives: int = Field(50, ge=0)
    max_cost: int = Field(10_000, ge=1)
    # Operations in one JSON-array body; 1 refuses batches.
    max_batch: int = Field(1, ge=1)
    # Request bodies: refused past this size (HTTP 413), a 15,000-character
    # document with its variables fits many times over.
    max_body_bytes: int = Field(1_048_576, ge=1)
    # Seconds from a request's arrival to its body's last byte (HTTP 408).
    body_read_timeout: float = Field(10.0, gt=0)
    # None: on in dev, off in prod.
    introspection: bool | None = None


class RateLimitSettings(BaseModel):
    # None: on in prod, off in dev (a laptop, and a test suite of thousands of requests).
    enabled: bool | None = None
    tenant_per_second: float = Field(50.0, gt=0)
    tenant_burst: int = Field(100, ge=1)
    user_per_second: float = Field(10.0, gt=0)
    user_burst: int = Field(20, ge=1)
    # With Redis down requests pass unlimited: one warning per this many seconds,
    # and Redis is left alone for pause_seconds after a failure.
    warn_every_seconds: float = Field(60.0, ge=0)
    pause_seconds: float = Field(5.0, ge=0)


class MetricsSettings(BaseModel):
    # None: /metrics on in dev, off in prod.
    enabled: bool | None = None
    # Client addresses or networks (CIDR) answered; empty: any client.
    allow: list[str] = Field(default_factory=list)

    def on(self, env: str) -> bool:
        return env == "dev" if self.enabled is None else self.enabled


class TracingSettings(BaseModel):
    # OpenTelemetry spans (the `tracing` extra): off by default.
    enabled: bool = False
    # OTLP/HTTP traces endpoint; None: the exporter's default (OTEL_EXPORTER_OTLP_* vars).
    endpoint: str | None = None
    service_name: str = "zebros-crm"


class ServerSettings(BaseModel):
    # On SIGTERM: requests in flight get this long to finish (uvicorn's graceful shutdown).
    graceful_shutdown_seconds: int = Field(10, ge=0)
    # A request's line and headers must arrive within this many seconds of the
    # connection's opening or the previous response, whatever the pace (slowloris).
    header_timeout_seconds: float = Field(10.0, gt=0)
    # An idle keep-alive connection is closed after this many seconds.
    keep_alive_seconds: int = Field(5, ge=1)


class SyncSettings(BaseModel):
    # What a push that names no strategy gets (README, "Mobile sync").
    strategy: Strategy = Strategy.AUTOMERGE
    # Change-log entries and push receipts: system logs, 90 days (ARCHITECTURE).
    retention_days: float = Field(90, gt=0)


class JobsSettings(BaseModel):
    # The queue: ``queue_url`` as given (production: made by the IaC), else the queue
    # named ``{table prefix}jobs``, created on start if missing (dev, embedded, tests).
    queue_url: str | None = None
    # Run a worker inside the API process. None: yes in dev, no in prod (there
    # `zebros worker` or the SQS-triggered Lambda consumes the queue).
    in_process: bool | None = None
    # A message not acknowledged within this comes back (a crashed worker's job).
    visibility_seconds: int = Field(300, ge=10, le=43_200)
    # A worker holds a job this long past each checkpoint; then another may take it.
    lease_seconds: int = Field(120, ge=5)
    chunk_rows: int = Field(100, ge=1, le=1000)  # rows between two checkpoints
    concurrency: int = Field(8, ge=1, le=64)  # rows of a chunk written at once
    import_max_bytes: int = Field(50 * MIB, ge=1, le=5 * 1024 * MIB)
    import_max_rows: int = Field(100_000, ge=1)
    result_url_seconds: int = Field(900, ge=10, le=7 * 86_400)

    def runs_in_process(self, env: str) -> bool:
        return self.in_process if self.in_process is not None else env == "dev"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ZEBROS_", env_nested_delimiter="__", extra="ignore"
    )

    env: Literal["dev", "prod"] = "dev"
    log_level: str = "INFO"
    # json: one JSON object per line (observe/logs.py); text for a terminal.
    # None: json in prod, text in dev.
    log_format: Literal["json", "text"] | None = None
    aws: AwsSettings = Field(default_factory=AwsSettings)
    dynamo: DynamoSettings = Field(default_factory=DynamoSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    tenancy: TenancySettings = Field(default_factory=TenancySettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)

    @model_validator(mode="after")
    def _prod_is_safe(self) -> Settings:
        if self.env != "prod":
            return self
        if self.auth.jwt_secret is None and self.auth.jwks_url is None:
            raise ValueError("prod needs ZEBROS_AUTH__JWKS_URL or ZEBROS_AUTH__JWT_SECRET")
        if self.auth.jwt_secret and self.auth.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            raise ValueError("prod must not use the development JWT secret")
        if self.auth.cursor_secret is None and self.auth.jwt_secret is None:
            raise ValueError("prod with JWKS needs ZEBROS_AUTH__CURSOR_SECRET")
        return self

    def logs_as(self) -> str:
        return self.log_format or ("json" if self.env == "prod" else "text")

    @property
    def embedded(self) -> bool:
        """No endpoint at all and not prod: run moto in-process."""
        aws = self.aws
        no_endpoint = aws.dynamodb_endpoint is None and aws.s3_endpoint is None
        return no_endpoint and self.env == "dev"

    def jwt_secret(self) -> str | None:
        if self.auth.jwt_secret is not None:
            return self.auth.jwt_secret.get_secret_value()
        return DEV_JWT_SECRET if self.env == "dev" and self.auth.jwks_url is None else None

    def cache_secret(self) -> bytes:
        """Seals cached values (dal.cache.sealed): a key of its own, like the cursors'."""
        return hmac.new(self.cursor_secret(), b"zebros-cache-v1", hashlib.sha256).digest()

    def cursor_secret(self) -> bytes:
        if self.auth.cursor_secret is not None:
            return self.auth.cursor_secret.get_secret_value().encode()
        # A separate key from the JWT one, so a cursor can never pass for a token.
        base = (self.jwt_secret() or "").encode()
        return hmac.new(base, b"zebros-cursor-v1", hashlib.sha256).digest()


def problem(exc: ValidationError) -> str:
    """One line naming the environment variables to set or fix: what a person starting
    ``zebros`` reads, in place of pydantic's traceback."""
    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        path = [str(p).upper() for p in error["loc"]]
        # A field's error names its variable; a check of the whole (prod's) names its own.
        parts.append(f"ZEBROS_{'__'.join(path)}: {message}" if path else message)
    return "; ".join(parts)
