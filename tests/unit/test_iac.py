"""`zebros iac`: the CloudFormation template says what the code defines.

Expectations come from ``dal`` (tables, buckets, lifecycle) and ``server``, never
from ``deploy``'s own helpers, and the template is linted with cfn-lint.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from dal.dynamodb.tables import KEY, TENANT_TABLES, TENANTS, Table
from dal.storage.buckets import BLOCKED, PURPOSES, UPLOADED, cors_rules
from dal.storage.lifecycle import VERSIONED, rules
from deploy import Options, template
from deploy.buckets import Unconvertible, lifecycle_rule
from deploy.cfn import arn
from deploy.cli import Format, add_arguments, render, run, write
from deploy.function import ROLE
from deploy.iam import OPERATOR_ACTIONS
from deploy.options import CapacityMode
from deploy.tables import table_id
from deploy.uploads import UPLOADS

Json = dict[str, Any]
NO_VALUE = {"Ref": "AWS::NoValue"}
REGIONS = ["us-east-1", "eu-west-1"]
SHARED = (*TENANT_TABLES, TENANTS)
# Parameters a deploy must give (no default): any valid value, for evaluating conditions.
REQUIRED = {"CodeS3Bucket": "code", "CodeS3Key": "app.zip", "RedisUrl": "rediss://cache:6379/0"}
ON_DEMAND: CapacityMode = "PAY_PER_REQUEST"
PROVISIONED: CapacityMode = "PROVISIONED"


@cache
def generated(mode: CapacityMode = ON_DEMAND) -> Json:
    return template(Options(capacity_mode=mode))


def resources(kind: str, t: Json | None = None) -> dict[str, Json]:
    given = (t or generated())["Resources"]
    return {name: r for name, r in given.items() if r["Type"] == kind}


# -- evaluating the template for given parameter values ------------------------------


def parameter_values(t: Json, **given: Any) -> dict[str, Any]:
    values = {name: p.get("Default") for name, p in t["Parameters"].items()}
    values |= REQUIRED | given
    for name, p in t["Parameters"].items():
        if p["Type"] == "CommaDelimitedList" and isinstance(values[name], str):
            values[name] = values[name].split(",")
    return values


def evaluate(expr: Any, values: dict[str, Any], conditions: Json) -> Any:
    """The few intrinsics Conditions use, enough to know which resources exist."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((fn, args),) = expr.items()
        if fn == "Ref":
            return values[args]
        if fn == "Condition":
            return evaluate(conditions[args], values, conditions)
        if fn == "Fn::Equals":
            left, right = (evaluate(a, values, conditions) for a in args)
            return left == right
        if fn == "Fn::Not":
            return not evaluate(args[0], values, conditions)
        if fn == "Fn::And":
            return all(evaluate(a, values, conditions) for a in args)
        if fn == "Fn::Or":
            return any(evaluate(a, values, conditions) for a in args)
        if fn == "Fn::Join":
            return args[0].join(evaluate(args[1], values, conditions))
    return expr


def truth(t: Json, **given: Any) -> dict[str, bool]:
    values = parameter_values(t, **given)
    return {name: bool(evaluate(c, values, t["Conditions"])) for name, c in t["Conditions"].items()}


def resolved(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with every Fn::If decided and AWS::NoValue dropped."""
    if isinstance(value, list):
        items = (resolved(v, conditions) for v in value)
        return [v for v in items if v != NO_VALUE]
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, then, otherwise = value["Fn::If"]
            return resolved(then if conditions[name] else otherwise, conditions)
        items = ((k, resolved(v, conditions)) for k, v in value.items())
        return {k: v for k, v in items if v != NO_VALUE}
    return value


def existing(t: Json, **given: Any) -> dict[str, Json]:
    """The resources a stack with these parameters has, conditions applied."""
    decided = truth(t, **given)
    return {
        name: resolved(r, decided)
        for name, r in t["Resources"].items()
        if decided.get(r.get("Condition", ""), True)
    }


# -- (a) cfn-lint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "format"), [(ON_DEMAND, "json"), (PROVISIONED, "json"), (ON_DEMAND, "yaml")]
)
def test_cfn_lint_finds_nothing(mode: CapacityMode, format: Format) -> None:
    # Every rule, informational ones included; nothing is ignored.
    text = render(generated(mode), format)
    config = ManualArgs(regions=REGIONS, include_checks=["I"])
    matches = lint(text, config=config)
    assert [str(m) for m in matches] == []


def test_yaml_has_no_aliases_and_says_the_same() -> None:
    yaml = pytest.importorskip("yaml")
    text = render(generated(), "yaml")
    assert "&id" not in text
    assert not re.search(r"(?m)[:-]\s+!", text)  # no short-form tags (!Ref, !Sub)
    assert yaml.safe_load(text) == generated()


def test_write_to_a_stream_and_a_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    write(stream, "json")
    assert json.loads(stream.getvalue()) == generated()
    path = tmp_path / "zebros.json"
    write(path, "json", Options(capacity_mode="PROVISIONED"))
    assert json.loads(path.read_text()) == generated(PROVISIONED)


# -- (b) tables -----------------------------------------------------------------------


def tables_by_name(t: Json | None = None) -> dict[str, Json]:
    """Table resources by their name after ``${TablePrefix}``."""
    out = {}
    for r in resources("AWS::DynamoDB::Table", t).values():
        name = r["Properties"]["TableName"]["Fn::Sub"]
        assert name.startswith("${TablePrefix}")
        out[name.removeprefix("${TablePrefix}")] = r
    return out


def expected_key_schema(table: Table) -> list[Json]:
    schema = [{"AttributeName": KEY, "KeyType": "HASH"}]
    if table.sort_key:
        schema.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    return schema


def test_exactly_the_shared_tables_are_in_the_template() -> None:
    # Silo tenants' tables ({prefix}{tenant}-{Entity}) come from `zebros tenant create`.
    assert set(tables_by_name()) == {t.entity for t in SHARED}


@pytest.mark.parametrize("table", SHARED, ids=lambda t: t.entity)
def test_table_keys_indexes_and_projections(table: Table) -> None:
    props = tables_by_name()[table.entity]["Properties"]
    assert props["KeySchema"] == expected_key_schema(table)
    defined = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    keys = {KEY, *([table.sort_key] if table.sort_key else [])}
    keys |= {i.pk for i in table.indexes} | {i.sk for i in table.indexes}
    assert defined == dict.fromkeys(keys, "S")
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i.name for i in table.indexes}
    for index in table.indexes:
        assert indexes[index.name]["KeySchema"] == [
            {"AttributeName": index.pk, "KeyType": "HASH"},
            {"AttributeName": index.sk, "KeyType": "RANGE"},
        ]
        assert indexes[index.name]["Projection"] == index.projection()


@pytest.mark.parametrize("table", SHARED, ids=lambda t: t.entity)
def test_table_ttl_recovery_and_encryption(table: Table) -> None:
    resource = tables_by_name()[table.entity]
    props = resource["Properties"]
    if table.ttl:
        assert props["TimeToLiveSpecification"] == {"AttributeName": table.ttl, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def test_some_table_has_a_ttl() -> None:
    assert any(t.ttl for t in SHARED)  # else the TTL test above proves little


# -- (c) buckets ----------------------------------------------------------------------


def buckets_by_purpose(t: Json | None = None) -> dict[str, Json]:
    out = {}
    for r in resources("AWS::S3::Bucket", t).values():
        name = r["Properties"]["BucketName"]["Fn::Sub"]
        out[name.removeprefix("${BucketPrefix}")] = r["Properties"]
    return out


def as_s3_api(rule: Json) -> Json:
    """A CloudFormation lifecycle rule back in the S3 API's shape (what `zebros init` sends)."""
    out: Json = {"ID": rule["Id"], "Status": rule["Status"]}
    tags = rule.get("TagFilters", [])
    prefix = rule.get("Prefix", "")
    if len(tags) == 1 and not prefix:
        out["Filter"] = {"Tag": tags[0]}
    elif tags:
        out["Filter"] = {"And": {"Prefix": prefix, "Tags": tags}}
    else:
        out["Filter"] = {"Prefix": prefix}
    expiration = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = rule["ExpirationInDays"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"]
    if expiration:
        out["Expiration"] = expiration
    if "Transitions" in rule:
        out["Transitions"] = [
            {"Days": s["TransitionInDays"], "StorageClass": s["StorageClass"]}
            for s in rule["Transitions"]
        ]
    for same in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        if same in rule:
            out[same] = rule[same]
    return out


def test_exactly_the_six_buckets() -> None:
    assert set(buckets_by_purpose()) == set(PURPOSES)
    assert len(PURPOSES) == 6


@pytest.mark.parametrize("purpose", PURPOSES)
def test_bucket_settings_are_those_of_zebros_init(purpose: str) -> None:
    props = buckets_by_purpose()[purpose]
    assert props["PublicAccessBlockConfiguration"] == BLOCKED
    versioned = props.get("VersioningConfiguration")
    assert versioned == ({"Status": "Enabled"} if purpose in VERSIONED else None)
    assert ("CorsConfiguration" in props) == (purpose in UPLOADED)


@pytest.mark.parametrize("purpose", sorted(UPLOADED))
def test_cors_follows_the_origins_parameter(purpose: str) -> None:
    t = generated()
    origins = "https://crm.example.com,https://app.example.com"
    with_cors = resolved(buckets_by_purpose()[purpose], truth(t, CorsOrigins=origins))
    (rule,) = with_cors["CorsConfiguration"]["CorsRules"]
    (given,) = cors_rules(("x",))["CORSRules"]
    assert rule["AllowedOrigins"] == {"Ref": "CorsOrigins"}
    assert rule["AllowedMethods"] == given["AllowedMethods"]
    assert rule["AllowedHeaders"] == given["AllowedHeaders"]
    assert rule["ExposedHeaders"] == given["ExposeHeaders"]
    assert rule["MaxAge"] == given["MaxAgeSeconds"]
    assert "CorsConfiguration" not in resolved(buckets_by_purpose()[purpose], truth(t))


def test_encryption_is_sse_s3_or_sse_kms_with_the_key() -> None:
    t = generated()
    key = "arn:aws:kms:us-east-1:123456789012:key/abc"
    for props in buckets_by_purpose().values():
        (s3,) = resolved(props, truth(t))["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert s3 == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        kms_on = resolved(props, truth(t, KmsKeyId=key))
        (kms,) = kms_on["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert kms["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Ref": "KmsKeyId"},
        }
        assert kms["BucketKeyEnabled"] is True


@pytest.mark.parametrize("noncurrent_days", [30, 45])
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_lifecycle_rule_survives_conversion(purpose: str, noncurrent_days: int) -> None:
    t = template(Options(noncurrent_days=noncurrent_days))
    given = buckets_by_purpose(t)[purpose]["LifecycleConfiguration"]["Rules"]
    assert [as_s3_api(r) for r in given] == rules(purpose, noncurrent_days)


def test_lifecycle_names_are_cloudformations() -> None:
    converted = [
        r for p in PURPOSES for r in buckets_by_purpose()[p]["LifecycleConfiguration"]["Rules"]
    ]
    by_id = {r["Id"]: r for r in converted}
    assert by_id["expire-unconfirmed"]["ExpirationInDays"] == 3
    assert by_id["expire-unconfirmed"]["TagFilters"] == [
        {"Key": "zebros-state", "Value": "pending"}
    ]
    assert by_id["clear-delete-markers"]["ExpiredObjectDeleteMarker"] is True
    assert by_id["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    assert by_id["reports-tiers"]["Transitions"][1] == {
        "TransitionInDays": 365,
        "StorageClass": "GLACIER",
    }
    s3_only = {"ID", "Filter", "Expiration", "Days", "Tag", "Tags", "And"}
    assert not s3_only & {k for r in converted for k in r}


@pytest.mark.parametrize(
    "rule",
    [
        {"ID": "x", "Status": "Enabled", "Filter": {"ObjectSizeGreaterThan": 5}},
        {"ID": "x", "Status": "Enabled", "Expiration": {"Weeks": 2}},
        {"ID": "x", "Status": "Enabled", "SomethingNew": {}},
    ],
)
def test_an_unknown_lifecycle_setting_is_refused(rule: Json) -> None:
    with pytest.raises(Unconvertible):
        lifecycle_rule(rule)


# -- (d) capacity modes ---------------------------------------------------------------


def expected_targets() -> set[tuple[str, str]]:
    """(ResourceId after ``table/``, dimension) for every table and index, read and write."""
    out = set()
    for table in SHARED:
        for access in ("Read", "Write"):
            out.add((table.entity, f"dynamodb:table:{access}CapacityUnits"))
            for index in table.indexes:
                dimension = f"dynamodb:index:{access}CapacityUnits"
                out.add((f"{table.entity}/index/{index.name}", dimension))
    return out


def scaling(stack: dict[str, Json]) -> set[tuple[str, str]]:
    names = {
        logical: r["Properties"]["TableName"]["Fn::Sub"].removeprefix("${TablePrefix}")
        for logical, r in stack.items()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    out = set()
    for logical, r in stack.items():
        if r["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget":
            continue
        props = r["Properties"]
        table, _, index = props["ResourceId"]["Fn::Sub"].removeprefix("table/").partition("/")
        entity = names[table.removeprefix("${").removesuffix("}")]
        out.add((f"{entity}/{index}" if index else entity, props["ScalableDimension"]))
        (policy,) = [
            p
            for p in stack.values()
            if p["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
            and p["Properties"]["ScalingTargetId"] == {"Ref": logical}
        ]
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
        assert tracking["TargetValue"] == {"Ref": "TargetUtilization"}
        access = "Read" if "Read" in props["ScalableDimension"] else "Write"
        metric = f"DynamoDB{access}CapacityUtilization"
        assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == metric
    return out


@pytest.mark.parametrize("default", [ON_DEMAND, PROVISIONED])
def test_provisioned_scales_every_table_and_index(default: CapacityMode) -> None:
    stack = existing(generated(default), CapacityMode=PROVISIONED)
    assert scaling(stack) == expected_targets()
    for r in stack.values():
        if r["Type"] == "AWS::DynamoDB::Table":
            props = r["Properties"]
            assert props["BillingMode"] == PROVISIONED
            assert set(props["ProvisionedThroughput"]) == {
                "ReadCapacityUnits",
                "WriteCapacityUnits",
            }
            for index in props.get("GlobalSecondaryIndexes", []):
                assert "ProvisionedThroughput" in index


@pytest.mark.parametrize("default", [ON_DEMAND, PROVISIONED])
def test_on_demand_has_no_scaling_and_no_throughput(default: CapacityMode) -> None:
    stack = existing(generated(default), CapacityMode=ON_DEMAND)
    assert scaling(stack) == set()
    assert not [r for r in stack.values() if "ApplicationAutoScaling" in r["Type"]]
    for r in stack.values():
        if r["Type"] == "AWS::DynamoDB::Table":
            props = r["Properties"]
            assert props["BillingMode"] == ON_DEMAND
            assert "ProvisionedThroughput" not in props
            assert not [i for i in props.get("GlobalSecondaryIndexes", []) if len(i) > 3]


def test_the_mode_option_only_sets_the_parameters_default() -> None:
    on_demand, provisioned = generated(ON_DEMAND), generated(PROVISIONED)
    assert on_demand["Parameters"]["CapacityMode"]["Default"] == ON_DEMAND
    assert provisioned["Parameters"]["CapacityMode"]["Default"] == PROVISIONED
    provisioned = json.loads(json.dumps(provisioned))
    provisioned["Parameters"]["CapacityMode"]["Default"] = ON_DEMAND
    assert provisioned == on_demand


# -- (e) IAM --------------------------------------------------------------------------


def role_statements(**given: Any) -> dict[str, Json]:
    stack = existing(generated(), **given)
    (policy,) = stack[ROLE]["Properties"]["Policies"]  # the API's role
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_role_names_exactly_the_templates_tables_and_buckets() -> None:
    statements = role_statements()
    tables = resources("AWS::DynamoDB::Table")
    expected_tables: list[Json] = [{"Fn::GetAtt": [n, "Arn"]} for n in tables]
    expected_tables += [
        {"Fn::Sub": f"${{{n}.Arn}}/index/*"}
        for n, r in tables.items()
        if r["Properties"].get("GlobalSecondaryIndexes")
    ]
    assert sorted(map(json.dumps, statements["Tables"]["Resource"])) == sorted(
        map(json.dumps, expected_tables)
    )
    buckets = resources("AWS::S3::Bucket")
    assert statements["Buckets"]["Resource"] == [{"Fn::GetAtt": [n, "Arn"]} for n in buckets]
    assert statements["Objects"]["Resource"] == [{"Fn::Sub": f"${{{n}.Arn}}/*"} for n in buckets]
    (log_group,) = resources("AWS::Logs::LogGroup")
    assert statements["Logs"]["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}


def test_the_role_has_no_wildcards_but_where_ec2_needs_them() -> None:
    every = role_statements(
        KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/abc",
        JwtSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf",
        CursorSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:cur-AbCdEf",
        SiloTables="true",
    )
    for sid, statement in every.items():
        assert statement["Effect"] == "Allow"
        assert not [a for a in listed(statement["Action"]) if "*" in a], sid
        if "*" in listed(statement["Resource"]):
            # Only what IAM cannot scope: ENIs, and ListStreams (no resource type).
            assert sid in {"VpcNetworkInterfaces", "ListStreams"}, sid
            wanted = ("ec2:",) if sid == "VpcNetworkInterfaces" else ("dynamodb:ListStreams",)
            assert all(a.startswith(wanted) for a in listed(statement["Action"])), sid
    assert every["Kms"]["Resource"] == {"Ref": "KmsKeyId"}
    assert every["JwtSecret"]["Resource"] == {"Ref": "JwtSecretArn"}
    assert every["CursorSecret"]["Resource"] == {"Ref": "CursorSecretArn"}
    # Silo tables: every entity but the registry, by name pattern, in this account only.
    silo = [r["Fn::Sub"] for r in every["SiloTables"]["Resource"]]
    assert {s.split("table/${TablePrefix}*-")[1] for s in silo} == {
        *(t.entity for t in TENANT_TABLES),
        *(f"{t.entity}/index/*" for t in TENANT_TABLES if t.indexes),
    }


def test_optional_grants_exist_only_when_asked_for() -> None:
    assert set(role_statements()) == {
        "Logs",
        "Tables",
        "JobQueue",
        "Streams",
        "ListStreams",
        "StreamFailures",
        "Buckets",
        "Objects",
        "VpcNetworkInterfaces",
    }


def test_the_role_may_do_what_the_api_does_and_no_more() -> None:
    actions = set(role_statements()["Tables"]["Action"])
    needed = {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"}
    needed |= {"BatchWriteItem", "ConditionCheckItem", "DescribeTable"}  # BatchWrite: audit
    assert actions == {f"dynamodb:{a}" for a in needed}
    # The operator's commands' actions are never the function's.
    every = role_statements(SiloTables="true").values()
    assert not OPERATOR_ACTIONS & {a for s in every for a in listed(s["Action"])}
    objects = set(role_statements()["Objects"]["Action"])
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"} <= objects
    assert {
        "s3:ListMultipartUploadParts",
        "s3:PutObjectTagging",
        "s3:DeleteObjectTagging",
    } <= objects


def test_the_bridge_policy_keeps_a_role_in_its_tenants_keys() -> None:
    (policy,) = resources("AWS::IAM::ManagedPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    items = statements["TenantItems"]
    assert items["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/tenant}#*"]}
    }
    # ForAllValues holds for a request without keys: a Scan would pass it.
    assert "dynamodb:Scan" not in items["Action"]
    tables = resources("AWS::DynamoDB::Table")
    registry = next(
        n
        for n, r in tables.items()
        if r["Properties"]["TableName"]["Fn::Sub"].endswith(TENANTS.entity)
    )
    assert {"Fn::GetAtt": [registry, "Arn"]} not in items["Resource"]
    for resource in statements["TenantObjects"]["Resource"]:
        assert resource["Fn::Sub"].endswith("/${!aws:PrincipalTag/tenant}/*")


# -- the function and the API ---------------------------------------------------------


def test_the_function_runs_the_app_in_prod() -> None:
    function = resources("AWS::Lambda::Function")["ApiFunction"]
    props = function["Properties"]
    assert props["Handler"] == "server.lambda_handler"
    assert props["Runtime"] == "python3.11"
    env = props["Environment"]["Variables"]
    assert env["ZEBROS_ENV"] == "prod"
    assert env["ZEBROS_DYNAMO__TABLE_PREFIX"] == {"Ref": "TablePrefix"}
    assert env["ZEBROS_S3__BUCKET_PREFIX"] == {"Ref": "BucketPrefix"}
    assert env["ZEBROS_REDIS__URL"] == {"Ref": "RedisUrl"}
    secret = resolved(env, truth(generated(), JwtSecretArn="arn:x"))["ZEBROS_AUTH__JWT_SECRET"]
    assert secret == {"Fn::Sub": "{{resolve:secretsmanager:${JwtSecretArn}:SecretString}}"}
    assert "ZEBROS_AUTH__JWT_SECRET" not in resolved(env, truth(generated()))
    assert set(props["VpcConfig"]) == {"SubnetIds", "SecurityGroupIds"}


def test_the_job_worker_runs_on_the_queue_the_api_sends_to() -> None:
    functions = resources("AWS::Lambda::Function")
    worker = functions["JobsFunction"]["Properties"]
    assert worker["Handler"] == "server.jobs_handler"
    api_env = functions["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api_env["ZEBROS_JOBS__QUEUE_URL"] == {"Ref": "JobsQueue"}
    assert worker["Environment"]["Variables"] == api_env
    mapping = resources("AWS::Lambda::EventSourceMapping")["JobsEventSource"]
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources("AWS::SQS::Queue")["JobsQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= worker["Timeout"]  # a running job's message stays hidden


def test_the_streamed_tables_feed_the_consumer_exactly_once_per_shard() -> None:
    """Every streamed table has NEW_AND_OLD_IMAGES and a mapping to the consumer that
    bisects failed batches, reports partial failures, keeps each shard's batches in
    order (one at a time) with the shard named (tumbling window), and sends what it
    gives up on to the failure queue; the role may read exactly those streams."""
    tables = resources("AWS::DynamoDB::Table")
    streamed = {table_id(t) for t in TENANT_TABLES if t.streamed}
    records = {"CustomersTable", "ContactsTable", "OpportunitiesTable", "ActivitiesTable"}
    assert streamed == records | {"ChangesTable"}  # the change log's: its sequencer
    for name, table in tables.items():
        spec = table["Properties"].get("StreamSpecification")
        assert spec == ({"StreamViewType": "NEW_AND_OLD_IMAGES"} if name in streamed else None)
    function = resources("AWS::Lambda::Function")["StreamsFunction"]["Properties"]
    assert function["Handler"] == "server.streams_handler"
    mappings = {
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: m["Properties"]
        for m in resources("AWS::Lambda::EventSourceMapping").values()
        if "StreamArn" in m["Properties"]["EventSourceArn"].get("Fn::GetAtt", [])
    }
    assert set(mappings) == streamed
    for props in mappings.values():
        assert props["FunctionName"] == {"Ref": "StreamsFunction"}
        assert props["BisectBatchOnFunctionError"] is True
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["ParallelizationFactor"] == 1
        assert props["TumblingWindowInSeconds"] >= 1
        failed = props["DestinationConfig"]["OnFailure"]["Destination"]
        assert failed == {"Fn::GetAtt": ["StreamsFailureQueue", "Arn"]}
    grants = role_statements()
    assert sorted(r["Fn::Sub"] for r in grants["Streams"]["Resource"]) == sorted(
        f"${{{n}.StreamArn}}" for n in streamed
    )
    assert grants["StreamFailures"]["Resource"] == {"Fn::GetAtt": ["StreamsFailureQueue", "Arn"]}


def test_the_api_routes_are_the_apps() -> None:
    routes = {r["Properties"]["RouteKey"] for r in resources("AWS::ApiGatewayV2::Route").values()}
    assert routes == {"ANY /graphql", "GET /healthz", "GET /readyz"}
    (integration,) = resources("AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    permissions = resources("AWS::Lambda::Permission").values()
    (permission,) = [p for p in permissions if p["Properties"]["FunctionName"] != arn(UPLOADS)]
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"


# Prometheus scrapes a server from inside the network, never through the public API.
UNROUTED = {"/metrics"}


def test_the_api_routes_every_path_of_the_app() -> None:
    from server import create_app
    from settings import Settings

    # The Lambda's app (no GraphiQL, so no route for its bundle).
    paths = {getattr(r, "path", None) for r in create_app(Settings(), ide=False).routes}
    routes = {r["Properties"]["RouteKey"] for r in resources("AWS::ApiGatewayV2::Route").values()}
    assert {route.split(" ")[1] for route in routes} == paths - UNROUTED


def test_the_iac_command(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    path = tmp_path / "zebros.json"
    args = parser.parse_args(["--format", "json", "-o", str(path), "--capacity-mode", PROVISIONED])
    assert run(args) == 0
    assert json.loads(path.read_text()) == generated(PROVISIONED)
    assert parser.parse_args([]).format == "yaml"


def test_outputs_name_the_url_tables_and_buckets() -> None:
    outputs = generated()["Outputs"]
    refs = [o["Value"] for o in outputs.values()]
    assert "ApiUrl" in outputs
    for name in (*resources("AWS::DynamoDB::Table"), *resources("AWS::S3::Bucket")):
        assert {"Ref": name} in refs
