"""S3: one bucket per purpose, each with the settings ``zebros init`` (re)applies.

Every bucket: public access blocked, default encryption (SSE-S3, or SSE-KMS
with the configured key), the lifecycle of ``lifecycle.py``. Documents,
attachments and backups are versioned (a delete or an overwrite keeps the
bytes recoverable for the stated retention). Buckets that browsers upload to
get CORS for the configured origins. Object keys always start with
``{tenant}/``; the API hands them out only through presigned URLs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dal.boto_errors import S3, translated
from dal.errors import NotFound, StoreUnavailable
from dal.storage.lifecycle import VERSIONED, rules

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

log = logging.getLogger(__name__)

PURPOSES = ("documents", "attachments", "imports-exports", "reports", "templates", "backups")
UPLOADED = frozenset({"documents", "attachments", "imports-exports"})  # by browsers: CORS


@dataclass(frozen=True, slots=True)
class BucketSettings:
    prefix: str
    region: str = "us-east-1"
    kms_key_id: str | None = None
    cors_origins: tuple[str, ...] = ()
    noncurrent_days: int = 30

    def names(self) -> dict[str, str]:
        return {purpose: f"{self.prefix}{purpose}" for purpose in PURPOSES}


async def create_buckets(client: S3Client, settings: BucketSettings) -> list[str]:
    """Create missing buckets and (re)apply every setting; returns the created names."""
    created = []
    for purpose, name in settings.names().items():
        if await _ensure_bucket(client, name, settings.region):
            created.append(name)
        await _configure(client, purpose, name, settings)
    return created


async def _configure(client: S3Client, purpose: str, name: str, settings: BucketSettings) -> None:
    async with translated(S3, "PutPublicAccessBlock"):
        await client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=BLOCKED)
    async with translated(S3, "PutBucketEncryption"):
        await client.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration=encryption(settings.kms_key_id)
        )
    if purpose in VERSIONED:
        async with translated(S3, "PutBucketVersioning"):
            await client.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
    await _cors(client, name, settings.cors_origins if purpose in UPLOADED else ())
    lifecycle: Any = {"Rules": rules(purpose, settings.noncurrent_days)}
    async with translated(S3, "PutBucketLifecycleConfiguration"):
        await client.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration=lifecycle
        )


BLOCKED: Any = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def encryption(kms_key_id: str | None) -> Any:
    if kms_key_id is None:
        default: dict[str, Any] = {"SSEAlgorithm": "AES256"}
        return {"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
    default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_id}
    # A bucket key: one KMS call per bucket and day, not per object.
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]}


def cors_rules(origins: tuple[str, ...]) -> Any:
    """Browsers POST the form, PUT the parts (reading each part's ETag) and GET."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": list(origins),
                "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000,
            }
        ]
    }


async def _cors(client: S3Client, name: str, origins: tuple[str, ...]) -> None:
    if origins:
        async with translated(S3, "PutBucketCors"):
            await client.put_bucket_cors(Bucket=name, CORSConfiguration=cors_rules(origins))
        return
    async with translated(S3, "DeleteBucketCors"):
        await client.delete_bucket_cors(Bucket=name)


async def _exists(client: S3Client, name: str) -> bool:
    try:
        async with translated(S3, "HeadBucket"):
            await client.head_bucket(Bucket=name)
    except NotFound:
        return False
    return True


async def _ensure_bucket(client: S3Client, name: str, region: str) -> bool:
    # Asked first: in us-east-1 CreateBucket answers 200 for a bucket one owns already.
    if await _exists(client, name):
        return False
    # us-east-1 is the one region that refuses an explicit LocationConstraint.
    where: Any = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    try:
        await client.create_bucket(Bucket=name, **where)
    except ClientError as exc:
        # Another `zebros init` won the race: the bucket is there, which is all we want.
        if exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
            return False
        raise StoreUnavailable(f"CreateBucket {name}: {exc}") from exc
    log.info("created bucket %s", name)
    return True


async def ping(client: S3Client, prefix: str) -> None:
    async with translated(S3, "HeadBucket"):
        await client.head_bucket(Bucket=f"{prefix}documents")
