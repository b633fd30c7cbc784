"""``template(options)``: the CloudFormation stack of a production Zebros, generated
from the code's own definitions (tables, buckets, settings), never re-typed.

What it holds: the shared DynamoDB tables, the six buckets, the Lambda function
with its role, an HTTP API, the job queue with its worker function, the function the
upload buckets notify of new objects, and the record tables' streams with their
consumer function (``deploy/streams.py``). What it
does not: the VPC, the ElastiCache cluster, silo tenants' tables (``zebros
tenant create``), the secrets themselves.
"""

from __future__ import annotations

from dal.storage.buckets import PURPOSES
from deploy.api import api_resources, api_url
from deploy.buckets import bucket_id, bucket_resources
from deploy.cfn import Json, logical_id, ref
from deploy.function import FUNCTION, ROLE, function_resources
from deploy.iam import bridge_policy
from deploy.jobs import QUEUE, job_resources
from deploy.options import Options
from deploy.parameters import conditions, parameters, rules
from deploy.streams import FAILURES, stream_resources
from deploy.tables import shared_tables, table_id, table_resources
from deploy.uploads import notifying, upload_resources

DESCRIPTION = "Zebros CRM: GraphQL API (HTTP API + Lambda), DynamoDB tables, S3 buckets"
BRIDGE_POLICY = "TenantBridgePolicy"


def _bridge_policy() -> Json:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Description": "Attach to a role that acts for one tenant (session tag tenant=<id>):"
            " DynamoDB keys and S3 objects of that tenant only. Not for the API's role.",
            "PolicyDocument": bridge_policy(),
        },
    }


def resources(options: Options) -> Json:
    return (
        table_resources()
        | notifying(bucket_resources(options.noncurrent_days))
        | function_resources()
        | api_resources()
        | job_resources()
        | upload_resources()
        | stream_resources()
        | {BRIDGE_POLICY: _bridge_policy()}
    )


def outputs() -> Json:
    out: Json = {
        "ApiUrl": {"Description": "The HTTP API's base URL", "Value": api_url()},
        "FunctionName": {"Value": ref(FUNCTION)},
        "JobsQueueUrl": {"Value": ref(QUEUE)},
        "StreamsFailureQueueUrl": {"Value": ref(FAILURES)},
        "FunctionRoleArn": {"Value": {"Fn::GetAtt": [ROLE, "Arn"]}},
        "TenantBridgePolicyArn": {
            "Description": "For per-tenant roles (jobs, exports), see its description",
            "Value": ref(BRIDGE_POLICY),
        },
    }
    for table in shared_tables():
        out[logical_id(table.entity, "TableName")] = {"Value": ref(table_id(table))}
    for purpose in PURPOSES:
        out[logical_id(purpose, "BucketName")] = {"Value": ref(bucket_id(purpose))}
    return out


def template(options: Options | None = None) -> Json:
    options = options or Options()
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": DESCRIPTION,
        "Metadata": {"Generator": "zebros iac"},
        "Parameters": parameters(options),
        "Rules": rules(),
        "Conditions": conditions(),
        "Resources": resources(options),
        "Outputs": outputs(),
    }
