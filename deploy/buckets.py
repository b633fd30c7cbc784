"""The six buckets, with exactly what ``zebros init`` applies (``dal.storage.buckets``),
converted from the S3 API's shapes into CloudFormation's.

CloudFormation names several things differently from the S3 API (``ExpirationInDays``
for ``Expiration.Days``, ``TagFilters`` for ``Filter.Tag``, ``ExposedHeaders`` for
``ExposeHeaders``...). The converters refuse what they do not know, so a new kind
of rule in ``lifecycle.py`` fails ``zebros iac`` (and its tests) instead of
silently vanishing from the stack.
"""

from __future__ import annotations

from typing import Any

from dal.storage.buckets import BLOCKED, PURPOSES, UPLOADED, cors_rules, encryption
from dal.storage.lifecycle import VERSIONED, rules
from deploy.cfn import Json, if_, logical_id, ref, sub
from deploy.parameters import HAS_CORS, USE_KMS
from deploy.tables import RETAIN

KMS_PLACEHOLDER = "KMS-KEY-ID"  # what encryption() is called with; swapped for the parameter
ORIGIN_PLACEHOLDER = "ORIGIN"


class Unconvertible(ValueError):
    """An S3 API setting this module does not know how to say in CloudFormation."""


def bucket_id(purpose: str) -> str:
    return logical_id(purpose, "Bucket")


def bucket_name(purpose: str) -> Json:
    return sub(f"${{BucketPrefix}}{purpose}")


def _take(source: dict[str, Any], known: set[str], what: str) -> dict[str, Any]:
    unknown = set(source) - known
    if unknown:
        raise Unconvertible(f"{what}: no CloudFormation form for {sorted(unknown)}")
    return source


def _filter(given: dict[str, Any]) -> Json:
    """An S3 API ``Filter`` as a rule's ``Prefix`` and ``TagFilters``."""
    _take(given, {"Prefix", "Tag", "And"}, "lifecycle Filter")
    both = _take(given.get("And", {}), {"Prefix", "Tags"}, "lifecycle Filter.And")
    prefix = given.get("Prefix", both.get("Prefix", ""))
    tags = [given["Tag"]] if "Tag" in given else list(both.get("Tags", []))
    out: Json = {}
    if prefix:  # "" is the whole bucket, as is no prefix at all
        out["Prefix"] = prefix
    if tags:
        out["TagFilters"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    return out


def _expiration(given: dict[str, Any]) -> Json:
    _take(given, {"Days", "Date", "ExpiredObjectDeleteMarker"}, "lifecycle Expiration")
    names = {"Days": "ExpirationInDays", "Date": "ExpirationDate"}
    return {names.get(key, key): value for key, value in given.items()}


def _transition(given: dict[str, Any], noncurrent: bool) -> Json:
    days = "NoncurrentDays" if noncurrent else "Days"
    known = {days, "StorageClass"} | ({"NewerNoncurrentVersions"} if noncurrent else {"Date"})
    _take(given, known, "lifecycle transition")
    names = {days: "TransitionInDays", "Date": "TransitionDate"}
    return {names.get(key, key): value for key, value in given.items()}


RULE_KEYS = {
    "ID",
    "Status",
    "Filter",
    "Prefix",
    "Expiration",
    "Transitions",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionTransitions",
    "AbortIncompleteMultipartUpload",
}


def lifecycle_rule(rule: dict[str, Any]) -> Json:
    """One rule of ``lifecycle.rules()`` (S3 API) as a CloudFormation ``Rule``."""
    _take(rule, RULE_KEYS, f"lifecycle rule {rule.get('ID')}")
    out: Json = {"Id": rule["ID"], "Status": rule["Status"]}
    out |= _filter(rule.get("Filter", {"Prefix": rule.get("Prefix", "")}))
    out |= _expiration(rule.get("Expiration", {}))
    if "Transitions" in rule:
        out["Transitions"] = [_transition(t, noncurrent=False) for t in rule["Transitions"]]
    if "NoncurrentVersionTransitions" in rule:
        steps = rule["NoncurrentVersionTransitions"]
        out["NoncurrentVersionTransitions"] = [_transition(t, noncurrent=True) for t in steps]
    if "NoncurrentVersionExpiration" in rule:
        kept = rule["NoncurrentVersionExpiration"]
        _take(kept, {"NoncurrentDays", "NewerNoncurrentVersions"}, "NoncurrentVersionExpiration")
        out["NoncurrentVersionExpiration"] = dict(kept)
    if "AbortIncompleteMultipartUpload" in rule:
        abort = rule["AbortIncompleteMultipartUpload"]
        _take(abort, {"DaysAfterInitiation"}, "AbortIncompleteMultipartUpload")
        out["AbortIncompleteMultipartUpload"] = dict(abort)
    return out


def lifecycle_configuration(purpose: str, noncurrent_days: int) -> Json:
    return {"Rules": [lifecycle_rule(r) for r in rules(purpose, noncurrent_days)]}


def _encryption_rule(rule: dict[str, Any]) -> Json:
    _take(rule, {"ApplyServerSideEncryptionByDefault", "BucketKeyEnabled"}, "encryption rule")
    default = dict(rule["ApplyServerSideEncryptionByDefault"])
    if default.get("KMSMasterKeyID") == KMS_PLACEHOLDER:
        default["KMSMasterKeyID"] = ref("KmsKeyId")
    out: Json = {"ServerSideEncryptionByDefault": default}
    if "BucketKeyEnabled" in rule:
        out["BucketKeyEnabled"] = rule["BucketKeyEnabled"]
    return out


def bucket_encryption() -> Json:
    """``encryption()``: SSE-KMS when the KmsKeyId parameter is set, else SSE-S3."""

    def shaped(kms_key_id: str | None) -> Json:
        given = encryption(kms_key_id)
        _take(given, {"Rules"}, "ServerSideEncryptionConfiguration")
        return {"ServerSideEncryptionConfiguration": [_encryption_rule(r) for r in given["Rules"]]}

    return if_(USE_KMS, shaped(KMS_PLACEHOLDER), shaped(None))


def cors_configuration() -> Json:
    """``cors_rules()`` for the CorsOrigins parameter; no CORS at all when it is empty."""
    names = {"ExposeHeaders": "ExposedHeaders", "MaxAgeSeconds": "MaxAge", "ID": "Id"}
    shaped = []
    for rule in cors_rules((ORIGIN_PLACEHOLDER,))["CORSRules"]:
        out = {names.get(key, key): value for key, value in rule.items()}
        out["AllowedOrigins"] = ref("CorsOrigins")
        shaped.append(out)
    return if_(HAS_CORS, {"CorsRules": shaped})


def bucket_properties(purpose: str, noncurrent_days: int) -> Json:
    properties: Json = {
        "BucketName": bucket_name(purpose),
        "PublicAccessBlockConfiguration": dict(BLOCKED),
        "BucketEncryption": bucket_encryption(),
        "LifecycleConfiguration": lifecycle_configuration(purpose, noncurrent_days),
    }
    if purpose in VERSIONED:
        properties["VersioningConfiguration"] = {"Status": "Enabled"}
    if purpose in UPLOADED:
        properties["CorsConfiguration"] = cors_configuration()
    return properties


def bucket_resources(noncurrent_days: int) -> Json:
    return {
        bucket_id(purpose): {
            "Type": "AWS::S3::Bucket",
            **RETAIN,
            "Properties": bucket_properties(purpose, noncurrent_days),
        }
        for purpose in PURPOSES
    }
