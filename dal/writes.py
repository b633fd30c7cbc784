"""Write operations, shaped for ``Dynamo.write`` (one call, or TransactWriteItems)."""

from __future__ import annotations

from typing import Any

from dal.dynamo import Condition, Item, both, present, serialize
from dal.tables import KEY, REF_COUNT

# DynamoDB returns the item's current state with a failed condition, which
# spares a read to report the current version on a conflict.
_RETURN_OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def put(table: str, item: Item, condition: Condition) -> dict[str, Any]:
    return {
        "Put": {"TableName": table, "Item": serialize(item), **condition.arguments(), **_RETURN_OLD}
    }


def replace(table: str, old: Item, new: Item, condition: Condition) -> dict[str, Any]:
    """An Update that turns ``old`` into ``new`` but never touches ``refCount``.

    Not a Put: a Put would overwrite a ``refCount`` that a concurrent child
    create or delete changed after we read the item.
    """
    keep = {KEY, REF_COUNT}
    sets = {k: v for k, v in new.items() if k not in keep and v is not None}
    removes = sorted(k for k in old if k not in keep and new.get(k) is None)
    names = {f"#a{i}": k for i, k in enumerate(sets)} | {f"#r{i}": k for i, k in enumerate(removes)}
    values = {f":a{i}": v for i, v in enumerate(sets.values())}
    expression = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(sets)))
    if removes:
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    return _update(table, new[KEY], expression, names, values, condition)


def adjust_refs(table: str, pk: str, delta: int, owner: Condition) -> dict[str, Any]:
    """Count one more (or one fewer) record pointing at ``pk``; it must exist (and be ours)."""
    condition = both(present(), owner)
    return _update(table, pk, "ADD #n :d", {"#n": REF_COUNT}, {":d": delta}, condition)


def check_exists(table: str, pk: str, owner: Condition) -> dict[str, Any]:
    args = both(present(), owner).arguments()
    return {"ConditionCheck": {"TableName": table, "Key": {KEY: {"S": pk}}, **args}}


def delete(table: str, pk: str, condition: Condition) -> dict[str, Any]:
    return {
        "Delete": {
            "TableName": table,
            "Key": {KEY: {"S": pk}},
            **condition.arguments(),
            **_RETURN_OLD,
        }
    }


def _update(
    table: str,
    pk: str,
    expression: str,
    names: dict[str, str],
    values: dict[str, Any],
    condition: Condition,
) -> dict[str, Any]:
    cond = condition.arguments()
    all_names = names | cond.pop("ExpressionAttributeNames", {})
    all_values = serialize(values) | cond.pop("ExpressionAttributeValues", {})
    args: dict[str, Any] = {
        "TableName": table,
        "Key": {KEY: {"S": pk}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": all_names,
        **cond,
        **_RETURN_OLD,
    }
    if all_values:
        args["ExpressionAttributeValues"] = all_values
    return {"Update": args}
