"""Upload confirmation by S3 events: the documents and attachments buckets notify a
function on ``server.uploads_handler`` of every ObjectCreated, and it confirms the
upload as ``confirmDocumentUpload`` would (``dal/storage/events.py``).

S3 checks, when the bucket's notification is created, that it may invoke the
function: each bucket depends on its ``AWS::Lambda::Permission``. So nothing the
function needs may depend on a bucket: the permission names its bucket's ARN from
the bucket's name, and the function has a role of its own, the API's grants with
every bucket named the same way (the API's role refers to the bucket resources).
"""

from __future__ import annotations

from typing import Any

from dal.models import DocumentKind
from dal.storage.buckets import PURPOSES
from deploy.buckets import bucket_id
from deploy.cfn import Json, arn, logical_id, ref, sub
from deploy.function import LOG_GROUP, ROLE, RUNTIME, environment, function_resources

UPLOADS = "UploadsFunction"
UPLOADS_ROLE = "UploadsFunctionRole"
HANDLER = "server.uploads_handler"
CONFIRMED = tuple(kind.value for kind in DocumentKind)  # the buckets that notify it
EVENT = "s3:ObjectCreated:*"


def permission_id(purpose: str) -> str:
    return logical_id(purpose, "Notifies", UPLOADS)


def notification() -> Json:
    """A bucket's ``NotificationConfiguration``: every new object to the function."""
    return {"LambdaConfigurations": [{"Event": EVENT, "Function": arn(UPLOADS)}]}


def notifying(buckets: Json) -> Json:
    """``deploy.buckets``' resources, the upload buckets notifying the function (each
    once its permission exists: S3 checks that it may invoke the function)."""
    out = dict(buckets)
    for purpose in CONFIRMED:
        bucket = out[bucket_id(purpose)]
        properties = bucket["Properties"] | {"NotificationConfiguration": notification()}
        out[bucket_id(purpose)] = bucket | {
            "DependsOn": permission_id(purpose),
            "Properties": properties,
        }
    return out


def _bucket_arn(purpose: str) -> str:
    return f"arn:${{AWS::Partition}}:s3:::${{BucketPrefix}}{purpose}"


def by_name(node: Any) -> Any:
    """``node`` with every reference to a bucket's ARN (``Fn::GetAtt``, or
    ``${XBucket.Arn}`` in an ``Fn::Sub``) spelled from the bucket's name instead."""
    if isinstance(node, list):
        return [by_name(n) for n in node]
    if not isinstance(node, dict):
        return node
    for purpose in PURPOSES:
        if node == arn(bucket_id(purpose)):
            return sub(_bucket_arn(purpose))
    if isinstance(node.get("Fn::Sub"), str):
        text = node["Fn::Sub"]
        for purpose in PURPOSES:
            text = text.replace(f"${{{bucket_id(purpose)}.Arn}}", _bucket_arn(purpose))
        return sub(text)
    return {key: by_name(value) for key, value in node.items()}


def _role() -> Json:
    role: Json = by_name(function_resources()[ROLE])
    role["Properties"]["Description"] = "The Zebros uploads function: the API's grants"
    return role


def _permission(purpose: str) -> Json:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": arn(UPLOADS),
            "Principal": "s3.amazonaws.com",
            "SourceAccount": ref("AWS::AccountId"),
            "SourceArn": sub(_bucket_arn(purpose)),
        },
    }


def upload_resources() -> Json:
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Description": "Zebros CRM: confirms uploads on S3 ObjectCreated events",
            "Handler": HANDLER,
            "Runtime": RUNTIME,
            "Architectures": [ref("Architecture")],
            "Code": {"S3Bucket": ref("CodeS3Bucket"), "S3Key": ref("CodeS3Key")},
            "MemorySize": ref("MemorySize"),
            "Timeout": ref("Timeout"),
            # The API's grants: a confirmation is what confirmDocumentUpload does.
            "Role": arn(UPLOADS_ROLE),
            "Environment": {"Variables": environment()},
            "VpcConfig": {
                "SubnetIds": ref("SubnetIds"),
                "SecurityGroupIds": ref("SecurityGroupIds"),
            },
            "LoggingConfig": {"LogGroup": ref(LOG_GROUP), "LogFormat": "Text"},
        },
    }
    made = {UPLOADS: function, UPLOADS_ROLE: _role()}
    return made | {permission_id(p): _permission(p) for p in CONFIRMED}
