"""The record tables' streams and their consumer: a Lambda on ``server.streams_handler``
fed by one event source mapping per streamed table (``dal/streams``).

Each mapping reads its shards in order, one batch per shard at a time
(ParallelizationFactor 1: the consumer's checkpoint is per shard), halves a batch
that fails (bisect), takes back only the records after a partial failure
(ReportBatchItemFailures), and after its retries sends the failed batch's
description to an SQS queue (on-failure destination). Its tumbling window makes
every event name its shard, which is what the checkpoint is keyed by.
"""

from __future__ import annotations

from dal.dynamodb.tables import TENANT_TABLES, Table
from deploy.cfn import Json, arn, logical_id, ref
from deploy.function import LOG_GROUP, ROLE, RUNTIME, environment
from deploy.tables import table_id

FUNCTION = "StreamsFunction"
FAILURES = "StreamsFailureQueue"
TIMEOUT = 300  # seconds: a batch of 1,000 changes is a few transactions
BATCH = 1000  # records per batch (the most a DynamoDB stream batch may hold)
RETRIES = 20  # then the batch's description goes to the failure queue
WINDOW_S = 1  # the shortest tumbling window: events name their shard


def streamed_tables() -> tuple[Table, ...]:
    return tuple(t for t in TENANT_TABLES if t.streamed)


def stream_arn(table: Table) -> Json:
    return {"Fn::GetAtt": [table_id(table), "StreamArn"]}


def mapping_id(table: Table) -> str:
    return logical_id(table.entity, "StreamSource")


def stream_resources() -> Json:
    resources: Json = {
        FAILURES: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            # Descriptions of failed batches (shard, sequence numbers), not the changes.
            "Properties": {"MessageRetentionPeriod": 14 * 86_400, "SqsManagedSseEnabled": True},
        },
        FUNCTION: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Description": "Zebros CRM stream consumer (aggregates, archive copies)",
                "Handler": "server.streams_handler",
                "Runtime": RUNTIME,
                "Architectures": [ref("Architecture")],
                "Code": {"S3Bucket": ref("CodeS3Bucket"), "S3Key": ref("CodeS3Key")},
                "MemorySize": ref("MemorySize"),
                "Timeout": TIMEOUT,
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
    for table in streamed_tables():
        resources[mapping_id(table)] = _mapping(table)
    return resources


def _mapping(table: Table) -> Json:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": stream_arn(table),
            "FunctionName": ref(FUNCTION),
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": BATCH,
            "MaximumBatchingWindowInSeconds": 0,
            "ParallelizationFactor": 1,
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MaximumRetryAttempts": RETRIES,
            "TumblingWindowInSeconds": WINDOW_S,
            "DestinationConfig": {"OnFailure": {"Destination": arn(FAILURES)}},
        },
    }
