"""The Lambda function: the ASGI app behind ``server.lambda_handler``, its role and logs."""

from __future__ import annotations

from deploy.cfn import Json, arn, if_, ref, sub
from deploy.iam import function_policy
from deploy.parameters import (
    HAS_AUDIENCE,
    HAS_CURSOR_SECRET,
    HAS_ISSUER,
    HAS_JWKS_URL,
    HAS_JWT_SECRET,
    USE_KMS,
)

FUNCTION = "ApiFunction"
ROLE = "ApiFunctionRole"
LOG_GROUP = "ApiFunctionLogs"
HANDLER = "server.lambda_handler"
RUNTIME = "python3.11"


def _secret(parameter: str) -> Json:
    """A dynamic reference: CloudFormation reads the secret when it deploys, and the
    value never appears in the template or in the stack's parameters."""
    return sub(f"{{{{resolve:secretsmanager:${{{parameter}}}:SecretString}}}}")


def environment() -> Json:
    """The ``ZEBROS_...`` settings (``settings.py``) of a production server."""
    return {
        "ZEBROS_ENV": "prod",
        "ZEBROS_AWS__REGION": ref("AWS::Region"),
        "ZEBROS_DYNAMO__TABLE_PREFIX": ref("TablePrefix"),
        "ZEBROS_S3__BUCKET_PREFIX": ref("BucketPrefix"),
        "ZEBROS_S3__KMS_KEY_ID": if_(USE_KMS, ref("KmsKeyId")),
        "ZEBROS_REDIS__URL": ref("RedisUrl"),
        "ZEBROS_REDIS__CLUSTER": ref("RedisCluster"),
        # Absent rather than empty: settings would take "" for a value.
        "ZEBROS_AUTH__JWKS_URL": if_(HAS_JWKS_URL, ref("JwksUrl")),
        "ZEBROS_AUTH__ISSUER": if_(HAS_ISSUER, ref("JwtIssuer")),
        "ZEBROS_AUTH__AUDIENCE": if_(HAS_AUDIENCE, ref("JwtAudience")),
        "ZEBROS_AUTH__JWT_SECRET": if_(HAS_JWT_SECRET, _secret("JwtSecretArn")),
        "ZEBROS_AUTH__CURSOR_SECRET": if_(HAS_CURSOR_SECRET, _secret("CursorSecretArn")),
        # The job queue (deploy/jobs.py): its Ref is the queue's URL.
        "ZEBROS_JOBS__QUEUE_URL": ref("JobsQueue"),
    }


def function_resources() -> Json:
    return {
        LOG_GROUP: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"RetentionInDays": ref("LogRetentionDays")},
        },
        ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "The Zebros API function: its tables, buckets and logs only",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {"PolicyName": "zebros-api", "PolicyDocument": function_policy(LOG_GROUP)},
                ],
            },
        },
        FUNCTION: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Description": "Zebros CRM GraphQL API",
                "Handler": HANDLER,
                "Runtime": RUNTIME,
                "Architectures": [ref("Architecture")],
                "Code": {"S3Bucket": ref("CodeS3Bucket"), "S3Key": ref("CodeS3Key")},
                "MemorySize": ref("MemorySize"),
                "Timeout": ref("Timeout"),
                "Role": arn(ROLE),
                "Environment": {"Variables": environment()},
                "VpcConfig": {
                    "SubnetIds": ref("SubnetIds"),
                    "SecurityGroupIds": ref("SecurityGroupIds"),
                },
                "LoggingConfig": {"LogGroup": ref(LOG_GROUP), "LogFormat": "Text"},
            },
        },
    }
