"""`zebros init`'s buckets: every setting read back from the moto server, twice applied."""

from __future__ import annotations

import os
from typing import Any

import pytest

from dal.storage.buckets import PURPOSES, BucketSettings, create_buckets
from services import Services

ORIGINS = ("https://crm.example.com",)
VERSIONED = {"documents", "attachments", "backups"}
TIERS = {
    "documents": [{"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}],
    "attachments": [{"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}],
    "imports-exports": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
    "reports": [
        {"Days": 60, "StorageClass": "STANDARD_IA"},
        {"Days": 365, "StorageClass": "GLACIER"},
    ],
    "backups": [{"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}],
}


def _rules(lifecycle: Any) -> dict[str, dict[str, Any]]:
    return {r["ID"]: r for r in lifecycle["Rules"]}


async def _check_bucket(services: Services, purpose: str, name: str, kms: str | None) -> None:
    s3 = services.s3_client
    blocked = (await s3.get_public_access_block(Bucket=name))["PublicAccessBlockConfiguration"]
    assert all(
        blocked[k]
        for k in (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
    )
    encryption = (await s3.get_bucket_encryption(Bucket=name))["ServerSideEncryptionConfiguration"]
    default = encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    expected = (
        {"SSEAlgorithm": "AES256"}
        if kms is None
        else {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms}
    )
    assert default == expected, (name, default)
    versioning = await s3.get_bucket_versioning(Bucket=name)
    assert (versioning.get("Status") == "Enabled") is (purpose in VERSIONED), (name, versioning)
    rules = _rules(await s3.get_bucket_lifecycle_configuration(Bucket=name))
    abort = rules["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"]
    assert abort == {"DaysAfterInitiation": 7}
    if purpose in TIERS:
        assert rules[f"{purpose}-tiers"]["Transitions"] == TIERS[purpose]
    _check_expiry(purpose, rules)
    _check_retention(purpose, rules)
    await _check_cors(services, purpose, name)


# README "Data categories and retention": job files and uploads 90 days, generated
# reports (business records) 7 years, backups 35 days. Spelled out here, not imported.
RETENTION_DAYS = {"imports-exports": 90, "reports": 2562, "backups": 35}


def _check_retention(purpose: str, rules: dict[str, dict[str, Any]]) -> None:
    kept = {k: r for k, r in rules.items() if k.endswith("-retention")}
    if purpose not in RETENTION_DAYS:
        assert kept == {}, (purpose, kept)  # documents, attachments, templates: until deleted
        return
    rule = kept.pop(f"{purpose}-retention")
    assert kept == {}
    assert rule["Expiration"] == {"Days": RETENTION_DAYS[purpose]}
    assert rule["Filter"] == {"Prefix": ""}
    assert rule["Status"] == "Enabled"


def _check_expiry(purpose: str, rules: dict[str, dict[str, Any]]) -> None:
    """Uploads: unconfirmed ones expire, deleted files after the retention, and a
    confirmed version pushed down by a later upload never (no rule matches it)."""
    expiring = {k for k in rules if k.startswith(("expire-", "clear-"))}
    if purpose in {"documents", "attachments"}:
        assert expiring == {"expire-unconfirmed", "expire-deleted", "clear-delete-markers"}
        unconfirmed, deleted = rules["expire-unconfirmed"], rules["expire-deleted"]
        assert unconfirmed["Filter"] == {"Tag": {"Key": "zebros-state", "Value": "pending"}}
        assert unconfirmed["Expiration"] == {"Days": 3}
        assert deleted["Filter"] == {"Tag": {"Key": "zebros-state", "Value": "deleted"}}
        assert deleted["NoncurrentVersionExpiration"]["NoncurrentDays"] == 45
    elif purpose == "backups":
        assert expiring == {"expire-noncurrent", "clear-delete-markers"}
        assert rules["expire-noncurrent"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 45
    else:
        assert expiring == set()
    if "clear-delete-markers" in rules:
        assert rules["clear-delete-markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}


async def _check_cors(services: Services, purpose: str, name: str) -> None:
    if purpose not in {"documents", "attachments", "imports-exports"}:
        with pytest.raises(services.s3_client.exceptions.ClientError):
            await services.s3_client.get_bucket_cors(Bucket=name)
        return
    (rule,) = (await services.s3_client.get_bucket_cors(Bucket=name))["CORSRules"]
    assert rule["AllowedOrigins"] == list(ORIGINS)
    assert sorted(rule["AllowedMethods"]) == ["GET", "HEAD", "POST", "PUT"]
    assert rule["ExposeHeaders"] == ["ETag"]


@pytest.mark.parametrize("kms", [None, "alias/zebros-files"], ids=["sse-s3", "sse-kms"])
async def test_init_applies_every_bucket_setting_idempotently(
    services: Services, kms: str | None
) -> None:
    prefix = f"cfg-{os.getpid()}-{'kms' if kms else 's3'}-"
    wanted = BucketSettings(prefix, kms_key_id=kms, cors_origins=ORIGINS, noncurrent_days=45)
    created = await create_buckets(services.s3_client, wanted)
    assert sorted(created) == sorted(prefix + p for p in PURPOSES)
    assert await create_buckets(services.s3_client, wanted) == []  # the second run creates nothing
    for purpose, name in wanted.names().items():
        await _check_bucket(services, purpose, name, kms)


async def test_init_drops_cors_when_no_origin_is_configured(services: Services) -> None:
    prefix = f"cfg-{os.getpid()}-nocors-"
    await create_buckets(services.s3_client, BucketSettings(prefix, cors_origins=ORIGINS))
    await create_buckets(services.s3_client, BucketSettings(prefix))
    with pytest.raises(services.s3_client.exceptions.ClientError):
        await services.s3_client.get_bucket_cors(Bucket=f"{prefix}documents")
