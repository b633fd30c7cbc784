"""The shared DynamoDB tables (bridge and pool tenants, and the tenants registry),
from ``dal.dynamodb.tables``, with auto scaling when the stack is PROVISIONED.

Silo tenants' tables (``{prefix}{tenant}-{Entity}``) are not here: ``zebros tenant
create`` makes them, one set per silo tenant, outside the stack.
"""

from __future__ import annotations

from typing import Any, Literal

from dal.dynamodb.tables import (
    STREAM,
    TENANT_TABLES,
    TENANTS,
    Index,
    Table,
    create_table_request,
)
from deploy.cfn import Json, if_, logical_id, ref, sub
from deploy.parameters import PROVISIONED

Access = Literal["Read", "Write"]
ACCESS: tuple[Access, ...] = ("Read", "Write")
METRIC = {"Read": "DynamoDBReadCapacityUtilization", "Write": "DynamoDBWriteCapacityUtilization"}
# Scale in slowly (a table's capacity may drop only a few times a day), out quickly.
SCALE_IN_SECONDS, SCALE_OUT_SECONDS = 300, 60
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def shared_tables() -> tuple[Table, ...]:
    """What ``zebros init`` creates (``provision.create_tables``)."""
    return (*TENANT_TABLES, TENANTS)


def table_id(table: Table) -> str:
    return logical_id(table.entity, "Table")


def table_name(table: Table) -> Json:
    return sub(f"${{TablePrefix}}{table.entity}")


def _throughput() -> Json:
    units = {"ReadCapacityUnits": ref("ReadCapacity"), "WriteCapacityUnits": ref("WriteCapacity")}
    return if_(PROVISIONED, units)


def table_properties(table: Table) -> Json:
    """``create_table_request``, in CloudFormation's shape, hardened for production."""
    request: dict[str, Any] = create_table_request(table, table.entity)
    request["TableName"] = table_name(table)
    request["BillingMode"] = if_(PROVISIONED, "PROVISIONED", "PAY_PER_REQUEST")
    request["ProvisionedThroughput"] = _throughput()
    for index in request.get("GlobalSecondaryIndexes", []):
        index["ProvisionedThroughput"] = _throughput()
    if table.streamed:  # CloudFormation's shape: the view type alone turns it on
        request["StreamSpecification"] = {"StreamViewType": STREAM["StreamViewType"]}
    if table.ttl:
        request["TimeToLiveSpecification"] = {"AttributeName": table.ttl, "Enabled": True}
    request["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    # KMS with the AWS managed key (aws/dynamodb): CloudTrail sees every key use.
    request["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS"}
    return request


def table_resources() -> Json:
    resources: Json = {}
    for table in shared_tables():
        resources[table_id(table)] = {
            "Type": "AWS::DynamoDB::Table",
            **RETAIN,
            "Properties": table_properties(table),
        }
        resources |= scaling_resources(table)
    return resources


def scaling_id(table: Table, index: Index | None, access: Access, kind: str) -> str:
    return logical_id(table.entity, index.name if index else "", access, kind)


def scaling_resources(table: Table) -> Json:
    """A scalable target and a target tracking policy per table and index, read and write."""
    resources: Json = {}
    for index in (None, *table.indexes):
        for access in ACCESS:
            target = scaling_id(table, index, access, "Target")
            resources[target] = _target(table, index, access)
            resources[scaling_id(table, index, access, "Policy")] = _policy(target, access)
    return resources


def _target(table: Table, index: Index | None, access: Access) -> Json:
    resource = f"table/${{{table_id(table)}}}" + (f"/index/{index.name}" if index else "")
    kind = "index" if index else "table"
    return {
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Condition": PROVISIONED,
        # No RoleARN: Application Auto Scaling uses (and creates) its service-linked role.
        "Properties": {
            "ServiceNamespace": "dynamodb",
            "ResourceId": sub(resource),
            "ScalableDimension": f"dynamodb:{kind}:{access}CapacityUnits",
            "MinCapacity": ref(f"{access}Capacity"),
            "MaxCapacity": ref(f"Max{access}Capacity"),
        },
    }


def _policy(target: str, access: Access) -> Json:
    return {
        "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
        "Condition": PROVISIONED,
        "Properties": {
            "PolicyName": sub(f"${{AWS::StackName}}-{target}"),
            "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": ref(target),
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": ref("TargetUtilization"),
                "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC[access]},
                "ScaleInCooldown": SCALE_IN_SECONDS,
                "ScaleOutCooldown": SCALE_OUT_SECONDS,
            },
        },
    }
