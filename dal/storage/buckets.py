"""S3: one bucket per purpose, with the lifecycle rules of the architecture.

Object keys always start with ``{tenant}/`` (documents and the like arrive
in a later release, handed out only through presigned URLs).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dal.dynamodb.client import translated

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

log = logging.getLogger(__name__)

PURPOSES = ("documents", "attachments", "imports", "reports", "templates", "backups")


def _transition(rule_id: str, days: int, storage_class: str, *more: dict[str, Any]) -> Any:
    return {
        "ID": rule_id,
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Transitions": [{"Days": days, "StorageClass": storage_class}, *more],
    }


# Imports/exports go to Standard-IA after 30 days; reports after 60, Glacier after a year.
LIFECYCLE: dict[str, list[Any]] = {
    "imports": [_transition("imports-to-ia", 30, "STANDARD_IA")],
    "reports": [
        _transition("reports-cooling", 60, "STANDARD_IA", {"Days": 365, "StorageClass": "GLACIER"})
    ],
    "backups": [_transition("backups-tiering", 0, "INTELLIGENT_TIERING")],
}


def bucket_names(prefix: str) -> dict[str, str]:
    return {purpose: f"{prefix}{purpose}" for purpose in PURPOSES}


async def create_buckets(client: S3Client, prefix: str, region: str) -> list[str]:
    """Create missing buckets and (re)apply lifecycle rules; returns the created names."""
    created = []
    for purpose, name in bucket_names(prefix).items():
        if await _ensure_bucket(client, name, region):
            created.append(name)
        if purpose in LIFECYCLE:
            async with translated("PutBucketLifecycleConfiguration"):
                await client.put_bucket_lifecycle_configuration(
                    Bucket=name, LifecycleConfiguration={"Rules": LIFECYCLE[purpose]}
                )
    return created


async def _ensure_bucket(client: S3Client, name: str, region: str) -> bool:
    # us-east-1 is the one region that refuses an explicit LocationConstraint.
    where: Any = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    try:
        await client.create_bucket(Bucket=name, **where)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"BucketAlreadyOwnedByYou"}:
            return False
        raise
    log.info("created bucket %s", name)
    return True


async def ping(client: S3Client, prefix: str) -> None:
    async with translated("HeadBucket"):
        await client.head_bucket(Bucket=f"{prefix}documents")
