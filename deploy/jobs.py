"""The job queue and the worker function: SQS (with a dead-letter queue) and a Lambda
on ``server.jobs_handler``, fed by an event source mapping that reports partial
batch failures (a message whose job another worker holds comes back)."""

from __future__ import annotations

from deploy.cfn import Json, arn, ref
from deploy.function import LOG_GROUP, ROLE, RUNTIME, environment

QUEUE = "JobsQueue"
DEAD_LETTERS = "JobsDeadLetterQueue"
WORKER = "JobsFunction"
MAPPING = "JobsEventSource"
WORKER_TIMEOUT = 900  # seconds, Lambda's most: an import checkpoints well within it
# SQS's advice: a visibility timeout of at least six times the function's timeout
# would be 90 min; a job's lease (120 s) already guards against two runs, so the
# queue's own 15 min plus the lease are enough to hand a dead worker's job on.
VISIBILITY = WORKER_TIMEOUT


def job_resources() -> Json:
    return {
        DEAD_LETTERS: {
            "Type": "AWS::SQS::Queue",
            # Messages only name jobs (whose records are in DynamoDB): nothing to keep.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"MessageRetentionPeriod": 14 * 86_400, "SqsManagedSseEnabled": True},
        },
        QUEUE: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "VisibilityTimeout": VISIBILITY,
                "MessageRetentionPeriod": 4 * 86_400,  # SQS's default, said out loud
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": arn(DEAD_LETTERS), "maxReceiveCount": 5},
            },
        },
        WORKER: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Description": "Zebros CRM job worker (imports, exports, reports)",
                "Handler": "server.jobs_handler",
                "Runtime": RUNTIME,
                "Architectures": [ref("Architecture")],
                "Code": {"S3Bucket": ref("CodeS3Bucket"), "S3Key": ref("CodeS3Key")},
                "MemorySize": ref("MemorySize"),
                "Timeout": WORKER_TIMEOUT,
                "Role": arn(ROLE),
                "Environment": {"Variables": environment()},
                "VpcConfig": {
                    "SubnetIds": ref("SubnetIds"),
                    "SecurityGroupIds": ref("SecurityGroupIds"),
                },
                "LoggingConfig": {"LogGroup": ref(LOG_GROUP), "LogFormat": "Text"},
            },
        },
        MAPPING: {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": arn(QUEUE),
                "FunctionName": ref(WORKER),
                "BatchSize": 1,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        },
    }
