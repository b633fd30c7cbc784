"""Every AWS call the suite's code makes, as the IAM actions it needs.

A botocore event hook on every session of the test process (``install``, from
conftest, before any client exists): ``provide-client-params`` fires for every
API call and for every presigned URL or POST, with the call's parameters. Each
call is kept as the IAM actions that authorise it, with the code that made it.

Calls a test makes itself to look at the stores (``tests/...`` the direct
caller) are not the application's and are left out. tests/api/test_aws_actions.py
checks the rest against the role ``zebros iac`` prints.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from types import FrameType
from typing import Any

from botocore import handlers

# The libraries between a client call and this hook: skipped to find who called.
LIBRARIES = ("botocore", "aiobotocore", "aioboto3", "boto3", "asyncio", "contextlib", __name__)

# S3 operations and the action each needs (IAM names differ from API names), then
# the action when the call names a version (VersionId).
S3: dict[str, tuple[str, str]] = {
    "GetObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "HeadObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "PutObject": ("s3:PutObject", "s3:PutObject"),
    "CreateMultipartUpload": ("s3:PutObject", "s3:PutObject"),
    "UploadPart": ("s3:PutObject", "s3:PutObject"),
    "CompleteMultipartUpload": ("s3:PutObject", "s3:PutObject"),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", "s3:AbortMultipartUpload"),
    "ListParts": ("s3:ListMultipartUploadParts", "s3:ListMultipartUploadParts"),
    "DeleteObject": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "GetObjectTagging": ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "PutObjectTagging": ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    "DeleteObjectTagging": ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    "HeadBucket": ("s3:ListBucket", "s3:ListBucket"),
    "ListObjectsV2": ("s3:ListBucket", "s3:ListBucket"),
    "ListObjectVersions": ("s3:ListBucketVersions", "s3:ListBucketVersions"),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads", "s3:ListBucketMultipartUploads"),
    # `zebros init`'s (deploy/iam.py OPERATOR_ACTIONS).
    "CreateBucket": ("s3:CreateBucket", "s3:CreateBucket"),
    "PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration", "s3:PutEncryptionConfiguration"),
    "PutBucketVersioning": ("s3:PutBucketVersioning", "s3:PutBucketVersioning"),
    "PutBucketCors": ("s3:PutBucketCORS", "s3:PutBucketCORS"),
    "DeleteBucketCors": ("s3:PutBucketCORS", "s3:PutBucketCORS"),
    "PutBucketLifecycleConfiguration": (
        "s3:PutLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
}
TRANSACT = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


class Unmapped(Exception):
    """An S3 operation whose IAM action this module does not know yet: add it to S3."""


# action -> the code that called for it ("module:function"), over the whole session.
collected: dict[str, set[str]] = defaultdict(set)
unmapped: set[str] = set()


def install() -> None:
    """Hook every botocore session made from now on in this process."""
    if ("provide-client-params", _collect) not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(("provide-client-params", _collect))


def _collect(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    caller = _caller(sys._getframe(1))
    if caller.startswith("tests."):
        return  # a test looking at the stores itself, not the application
    service = model.service_model.service_name
    try:
        for action in actions(service, model.name, params, bool(context.get("is_presign_request"))):
            collected[action].add(caller)
    except Unmapped:
        unmapped.add(f"{service}:{model.name} (from {caller})")


def _caller(frame: FrameType | None) -> str:
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith(LIBRARIES):
            return f"{module}:{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


def actions(service: str, operation: str, params: dict[str, Any], presign: bool) -> set[str]:
    """The IAM actions one call needs."""
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service == "s3":
        return _s3(operation, params, presign)
    if service == "dynamodbstreams":  # IAM names DynamoDB Streams' actions under dynamodb:
        return {f"dynamodb:{operation}"}
    return {f"{service}:{operation}"}  # SQS's actions are named as its operations


def _dynamodb(operation: str, params: dict[str, Any]) -> set[str]:
    if operation == "TransactWriteItems":  # authorised item by item
        return {TRANSACT[kind] for item in params["TransactItems"] for kind in item}
    if operation == "TransactGetItems":
        return {"dynamodb:GetItem"}
    return {f"dynamodb:{operation}"}


def _s3(operation: str, params: dict[str, Any], presign: bool) -> set[str]:
    if presign and operation == "CreateBucket":
        # A presigned POST (botocore signs it as CreateBucket's URL): an upload, with
        # the pending tag in its form (dal/storage/objects.py sets one on every POST).
        return {"s3:PutObject", "s3:PutObjectTagging"}
    if operation == "CopyObject":
        return _copy(params)
    if operation not in S3:
        raise Unmapped(operation)
    plain, versioned = S3[operation]
    needed = {versioned if params.get("VersionId") else plain}
    if params.get("Tagging") and operation in ("PutObject", "CreateMultipartUpload"):
        needed.add("s3:PutObjectTagging")  # tags given with the object
    return needed


def _copy(params: dict[str, Any]) -> set[str]:
    """A copy reads the source and writes the copy, and copies the tags by default."""
    source = params["CopySource"]
    versioned = (
        bool(source.get("VersionId")) if isinstance(source, dict) else "versionId=" in source
    )
    read = {"s3:GetObjectVersion", "s3:GetObjectVersionTagging"} if versioned else set()
    read = read or {"s3:GetObject", "s3:GetObjectTagging"}
    tags = params.get("TaggingDirective", "COPY") == "COPY" or params.get("Tagging")
    return {"s3:PutObject", *read, *(("s3:PutObjectTagging",) if tags else ())}
