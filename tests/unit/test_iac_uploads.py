"""`zebros iac` wires upload confirmation: the documents and attachments buckets notify
`server.uploads_handler` of every new object, with the permission S3 checks for,
and no dependency cycle (cfn-lint's E3004 in tests/unit/test_iac.py)."""

from __future__ import annotations

import importlib
import json

from aws_lambda import UploadsLambda
from dal.storage.buckets import PURPOSES
from deploy import template
from deploy.buckets import bucket_id
from deploy.cfn import arn, ref, sub
from deploy.function import ROLE
from deploy.uploads import CONFIRMED, HANDLER, UPLOADS, UPLOADS_ROLE, by_name, permission_id


def test_the_upload_buckets_notify_the_function_once_it_may_be_invoked() -> None:
    resources = template()["Resources"]
    assert set(CONFIRMED) == {"documents", "attachments"}
    for purpose in PURPOSES:
        bucket = resources[bucket_id(purpose)]
        if purpose not in CONFIRMED:
            assert "NotificationConfiguration" not in bucket["Properties"]
            continue
        assert bucket["Properties"]["NotificationConfiguration"] == {
            "LambdaConfigurations": [{"Event": "s3:ObjectCreated:*", "Function": arn(UPLOADS)}]
        }
        assert bucket["DependsOn"] == permission_id(purpose)
        allowed = resources[permission_id(purpose)]["Properties"]
        assert allowed == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": arn(UPLOADS),
            "Principal": "s3.amazonaws.com",
            "SourceAccount": ref("AWS::AccountId"),
            "SourceArn": sub(f"arn:${{AWS::Partition}}:s3:::${{BucketPrefix}}{purpose}"),
        }


def test_the_function_has_the_apis_grants_without_referring_to_a_bucket() -> None:
    resources = template()["Resources"]
    function = resources[UPLOADS]["Properties"]
    assert (function["Handler"], function["Role"]) == (HANDLER, arn(UPLOADS_ROLE))
    module, name = HANDLER.split(".")
    assert isinstance(getattr(importlib.import_module(module), name), UploadsLambda)
    api, own = resources[ROLE]["Properties"], resources[UPLOADS_ROLE]["Properties"]
    assert own["Policies"] == by_name(api["Policies"])
    assert own["Policies"] != api["Policies"]  # the API's role does refer to the buckets
    text = json.dumps(own)
    assert not [p for p in PURPOSES if bucket_id(p) in text]
