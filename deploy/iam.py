"""Least privilege: what the function may do, on exactly the stack's tables and buckets.

And, for roles that act for one tenant only, a bridge policy: IAM itself keeps
them inside their tenant's keys (``dynamodb:LeadingKeys``) and object prefixes.
"""

from __future__ import annotations

from dal.dynamodb.tables import TENANTS
from dal.storage.buckets import PURPOSES
from deploy.buckets import bucket_id
from deploy.cfn import Json, arn, if_, ref, sub
from deploy.parameters import HAS_CURSOR_SECRET, HAS_JWT_SECRET, SERVES_SILOS, USE_KMS
from deploy.tables import shared_tables, table_id

# What the API and the job worker call (dal/): no Scan, no CreateTable (`zebros init`
# and `zebros tenant create` run outside the API, see OPERATOR_ACTIONS).
# BatchWriteItem: the audit of reads writes its events so (dal/privacy/audit.py).
# TransactWriteItems is no IAM action: a transaction is authorised item by item
# as the PutItem, UpdateItem, DeleteItem and ConditionCheckItem it holds.
# tests/api/test_aws_actions.py checks every call the suite's API and worker make
# against this role.
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
# What only the operator's commands do, with the operator's credentials, never the
# function's role: `zebros init` (tables, indexes, TTL, buckets and their settings,
# and a Scan of the small tenants registry for silo tenants' tables), `zebros tenant
# create` (a silo's tables). CreateQueue: dev and tests only; a deployed function
# is given the stack's queue (ZEBROS_JOBS__QUEUE_URL).
OPERATOR_ACTIONS = {
    "dynamodb:CreateTable",
    "dynamodb:ListTables",
    "dynamodb:UpdateTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:Scan",
    "s3:CreateBucket",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutBucketCORS",
    "s3:PutLifecycleConfiguration",
    "sqs:CreateQueue",
}
# Objects: presigned POST/PUT/GET are signed with these; the state tag is set and
# removed on a given version; HeadObject is GetObject; Complete- and
# CreateMultipartUpload and UploadPart are PutObject. A server-side copy of a
# version (Blobs.copy) reads that version's tags too (CopyObject copies them).
OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetObjectTagging",
    "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersionTagging",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]
BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions"]  # HeadBucket is ListBucket
# Lambda creates the function's network interfaces in the VPC with the function's
# role; EC2 does not scope these calls to resources, so they need "*".
ENI_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
TENANT_TAG = "${aws:PrincipalTag/tenant}"
DYNAMODB = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}"


def _allow(sid: str, actions: list[str], resources: list[Json] | Json | str) -> Json:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def table_arns() -> list[Json]:
    """Every shared table, and the indexes of those that have some."""
    out: list[Json] = []
    for table in shared_tables():
        out.append(arn(table_id(table)))
        if table.indexes:
            out.append(sub(f"${{{table_id(table)}.Arn}}/index/*"))
    return out


def silo_table_arns() -> list[Json]:
    """Silo tenants' tables, ``{prefix}{tenant}-{Entity}``: a name pattern per entity.
    With nested prefixes (``zebros-`` and ``zebros-staging-``) the pattern also matches
    the other stack's shared tables: give such stacks distinct, unnested prefixes."""
    out: list[Json] = []
    for table in shared_tables():
        if table is TENANTS:
            continue  # one registry for all: no silo has its own
        base = f"{DYNAMODB}:table/${{TablePrefix}}*-{table.entity}"
        out.append(sub(base))
        if table.indexes:
            out.append(sub(f"{base}/index/*"))
    return out


def bucket_arns() -> list[Json]:
    return [arn(bucket_id(p)) for p in PURPOSES]


def object_arns() -> list[Json]:
    return [sub(f"${{{bucket_id(p)}.Arn}}/*") for p in PURPOSES]


# The stream consumer (deploy/streams.py, same role): what an event source mapping
# needs of the streams it reads, and the failure queue it sends to.
STREAM_ACTIONS = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
]
# ListStreams names no resource type in IAM: it is granted on "*" or not at all (it
# lists stream ARNs, no data). The worker's consumer and an erasure's settle call it.
LIST_STREAMS = "dynamodb:ListStreams"


def stream_arns() -> list[Json]:
    return [sub(f"${{{table_id(t)}.StreamArn}}") for t in shared_tables() if t.streamed]


def silo_stream_arns() -> list[Json]:
    """Silo tenants' streams (read by ``zebros worker``, or mappings added per silo)."""
    entities = [t.entity for t in shared_tables() if t.streamed]
    return [sub(f"{DYNAMODB}:table/${{TablePrefix}}*-{e}/stream/*") for e in entities]


QUEUE_ACTIONS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
]


def function_policy(log_group: str) -> Json:
    statements: list[Json] = [
        _allow("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], arn(log_group)),
        _allow("Tables", TABLE_ACTIONS, table_arns()),
        if_(SERVES_SILOS, _allow("SiloTables", TABLE_ACTIONS, silo_table_arns())),
        _allow("Buckets", BUCKET_ACTIONS, bucket_arns()),
        _allow("Objects", OBJECT_ACTIONS, object_arns()),
        # SSE-KMS: uploads (presigned, signed by this role) need a data key, reads decrypt.
        if_(USE_KMS, _allow("Kms", ["kms:Decrypt", "kms:GenerateDataKey"], ref("KmsKeyId"))),
        # CloudFormation resolves the secrets into the environment at deploy time; the
        # grant lets the function re-read them (rotation, a secrets extension).
        if_(HAS_JWT_SECRET, _secret("JwtSecret", "JwtSecretArn")),
        if_(HAS_CURSOR_SECRET, _secret("CursorSecret", "CursorSecretArn")),
        # The job queue (deploy/jobs.py): the API sends, the worker (same role) consumes.
        _allow("JobQueue", QUEUE_ACTIONS, arn("JobsQueue")),
        _allow("Streams", STREAM_ACTIONS, stream_arns()),
        if_(SERVES_SILOS, _allow("SiloStreams", STREAM_ACTIONS, silo_stream_arns())),
        _allow("ListStreams", [LIST_STREAMS], "*"),
        _allow("StreamFailures", ["sqs:SendMessage"], arn("StreamsFailureQueue")),
        _allow("VpcNetworkInterfaces", ENI_ACTIONS, "*"),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _secret(sid: str, parameter: str) -> Json:
    return _allow(sid, ["secretsmanager:GetSecretValue"], ref(parameter))


def bridge_policy() -> Json:
    """For a role that acts for ONE tenant: a job, an export, a tenant's own
    integration, assumed with the session tag ``tenant=<id>``.

    ``dynamodb:LeadingKeys`` is the partition key of every item (or index query)
    a request touches; bridge keys start with ``{tenant}#`` (``tenancy/scope.py``),
    so IAM refuses any other tenant's item. The API's own role cannot carry this:
    it serves every tenant from one role, and pool keys are opaque digests that no
    pattern can tie to a tenant. Its isolation is the application's (the read
    check and the write condition on ``tenantId``).

    ForAllValues is vacuously true for a request with no partition key (Scan), so
    Scan must never be allowed next to it; the tenants registry is keyed by bare
    tenant id and is left out.
    """
    tables: list[Json] = []
    for table in shared_tables():
        if table is TENANTS:
            continue
        tables.append(arn(table_id(table)))
        if table.indexes:
            tables.append(sub(f"${{{table_id(table)}.Arn}}/index/*"))
    actions = [a for a in TABLE_ACTIONS if a != "dynamodb:DescribeTable"]
    keys = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{TENANT_TAG}#*"]}}
    # Object keys start with "{tenant}/"; "${!...}" is Fn::Sub's literal "${...}".
    objects = [sub(f"${{{bucket_id(p)}.Arn}}/${{!aws:PrincipalTag/tenant}}/*") for p in PURPOSES]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {**_allow("TenantItems", actions, tables), "Condition": keys},
            _allow(
                "TenantObjects", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], objects
            ),
        ],
    }
