"""The stack's Parameters, Conditions and Rules."""

from __future__ import annotations

from deploy.cfn import Json, equals, not_, not_empty, ref
from deploy.options import CAPACITY_MODES, Options

PROVISIONED = "IsProvisioned"
USE_KMS = "UseKms"
HAS_CORS = "HasCors"
HAS_JWKS_URL = "HasJwksUrl"
HAS_ISSUER = "HasIssuer"
HAS_AUDIENCE = "HasAudience"
HAS_JWT_SECRET = "HasJwtSecret"
HAS_CURSOR_SECRET = "HasCursorSecret"
SERVES_SILOS = "ServesSilos"

SECRET_ARN = r"^$|^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$"
KMS_KEY_ARN = r"^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$"
LOG_RETENTION = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653]


def _string(description: str, default: str | None = None, **extra: object) -> Json:
    out: Json = {"Type": "String", "Description": description}
    if default is not None:
        out["Default"] = default
    return out | extra


def _number(description: str, default: int, low: int, high: int) -> Json:
    return {
        "Type": "Number",
        "Description": description,
        "Default": default,
        "MinValue": low,
        "MaxValue": high,
    }


def _capacity(options: Options) -> Json:
    units = "capacity units of every table and index (PROVISIONED only)"
    return {
        "CapacityMode": _string(
            "DynamoDB billing: on demand, or provisioned with auto scaling",
            options.capacity_mode,
            AllowedValues=list(CAPACITY_MODES),
        ),
        "ReadCapacity": _number(f"Initial and minimum read {units}", 5, 1, 40_000),
        "WriteCapacity": _number(f"Initial and minimum write {units}", 5, 1, 40_000),
        "MaxReadCapacity": _number(f"Maximum read {units}", 100, 1, 40_000),
        "MaxWriteCapacity": _number(f"Maximum write {units}", 100, 1, 40_000),
        "TargetUtilization": _number("Auto scaling target utilisation, percent", 70, 20, 90),
    }


def _function() -> Json:
    return {
        "CodeS3Bucket": _string("S3 bucket holding the function's zip (the app and its deps)"),
        "CodeS3Key": _string("S3 key of the function's zip"),
        "Architecture": _string(
            "Instruction set the zip's native wheels are built for",
            "x86_64",
            AllowedValues=["x86_64", "arm64"],
        ),
        "MemorySize": _number("Function memory, MB", 1024, 128, 10_240),
        # An HTTP API waits at most 30 seconds for its integration.
        "Timeout": _number("Function timeout, seconds", 29, 3, 30),
        "LogRetentionDays": {
            "Type": "Number",
            "Description": "Days the function's logs are kept",
            "Default": 30,
            "AllowedValues": LOG_RETENTION,
        },
        "SubnetIds": {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": "Private subnets the function runs in (they must reach ElastiCache,"
            " and DynamoDB and S3 through VPC endpoints or a NAT)",
        },
        "SecurityGroupIds": {
            "Type": "List<AWS::EC2::SecurityGroup::Id>",
            "Description": "Security groups of the function (allowed into ElastiCache)",
        },
    }


def _service() -> Json:
    return {
        "RedisUrl": _string(
            "ZEBROS_REDIS__URL: the ElastiCache endpoint, e.g. rediss://host:6379/0",
            AllowedPattern=r"^rediss?://.+$",
        ),
        "RedisCluster": _string(
            "ZEBROS_REDIS__CLUSTER: ElastiCache with cluster mode enabled",
            "false",
            AllowedValues=["false", "true"],
        ),
        "JwksUrl": _string("ZEBROS_AUTH__JWKS_URL (empty: HS256 with JwtSecretArn)", ""),
        "JwtIssuer": _string("ZEBROS_AUTH__ISSUER (empty: not checked)", ""),
        "JwtAudience": _string("ZEBROS_AUTH__AUDIENCE (empty: not checked)", ""),
        "JwtSecretArn": _string(
            "Full ARN of a Secrets Manager secret (plain text): ZEBROS_AUTH__JWT_SECRET",
            "",
            AllowedPattern=SECRET_ARN,
        ),
        "CursorSecretArn": _string(
            "Full ARN of a Secrets Manager secret (plain text): ZEBROS_AUTH__CURSOR_SECRET",
            "",
            AllowedPattern=SECRET_ARN,
        ),
        "SiloTables": _string(
            "Grant the function the silo tenants' tables ({TablePrefix}{tenant}-{Entity})",
            "false",
            AllowedValues=["false", "true"],
        ),
    }


def parameters(options: Options) -> Json:
    stores: Json = {
        "TablePrefix": _string(
            "ZEBROS_DYNAMO__TABLE_PREFIX", options.table_prefix, AllowedPattern=r"^[A-Za-z0-9_.-]*$"
        ),
        "BucketPrefix": _string(
            "ZEBROS_S3__BUCKET_PREFIX (bucket names are global: make it yours)",
            options.bucket_prefix,
            AllowedPattern=r"^[a-z0-9][a-z0-9.-]*$",
        ),
        "KmsKeyId": _string(
            "ARN of a KMS key for SSE-KMS on the buckets (empty: SSE-S3)",
            "",
            AllowedPattern=KMS_KEY_ARN,
        ),
        "CorsOrigins": {
            "Type": "CommaDelimitedList",
            "Description": "Origins whose pages upload from a browser (empty: no CORS)",
            "Default": "",
        },
    }
    return stores | _capacity(options) | _function() | _service()


def conditions() -> Json:
    return {
        PROVISIONED: equals(ref("CapacityMode"), "PROVISIONED"),
        USE_KMS: not_empty("KmsKeyId"),
        HAS_CORS: not_(equals({"Fn::Join": ["", ref("CorsOrigins")]}, "")),
        HAS_JWKS_URL: not_empty("JwksUrl"),
        HAS_ISSUER: not_empty("JwtIssuer"),
        HAS_AUDIENCE: not_empty("JwtAudience"),
        HAS_JWT_SECRET: not_empty("JwtSecretArn"),
        HAS_CURSOR_SECRET: not_empty("CursorSecretArn"),
        SERVES_SILOS: equals(ref("SiloTables"), "true"),
    }


def rules() -> Json:
    """What ``Settings._prod_is_safe`` demands, checked before the stack changes."""
    return {
        "AuthIsConfigured": {
            "Assertions": [
                {
                    "Assert": {"Fn::Or": [not_empty("JwksUrl"), not_empty("JwtSecretArn")]},
                    "AssertDescription": "prod needs JwksUrl or JwtSecretArn",
                }
            ]
        },
        "CursorsHaveASecret": {
            "RuleCondition": equals(ref("JwtSecretArn"), ""),
            "Assertions": [
                {
                    "Assert": not_empty("CursorSecretArn"),
                    "AssertDescription": "without JwtSecretArn, CursorSecretArn is needed",
                }
            ],
        },
    }
