"""Write operations, shaped for ``Dynamo.write`` (one call, or TransactWriteItems)."""

from __future__ import annotations

from typing import Any

from dal.dynamodb.conditions import Condition
from dal.dynamodb.items import Item, serialize
from dal.dynamodb.tables import KEY, SORT
from dal.tenancy.scope import TENANT_ATTR

# DynamoDB returns the item's current state with a failed condition, which
# spares a read to report the current version on a conflict.
_RETURN_OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def put(table: str, item: Item, condition: Condition) -> dict[str, Any]:
    return {
        "Put": {"TableName": table, "Item": serialize(item), **condition.arguments(), **_RETURN_OLD}
    }


def replace(table: str, old: Item, new: Item, condition: Condition) -> dict[str, Any]:
    """An Update that turns ``old`` into ``new``: only the attributes that changed are
    sent (what did not change costs nothing to leave alone), removed ones REMOVEd."""
    sets = {k: v for k, v in new.items() if k != KEY and v is not None and old.get(k) != v}
    removes = sorted(k for k in old if k != KEY and new.get(k) is None)
    names = {f"#a{i}": k for i, k in enumerate(sets)} | {f"#r{i}": k for i, k in enumerate(removes)}
    values = {f":a{i}": v for i, v in enumerate(sets.values())}
    expression = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(sets)))
    if removes:
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    return _update(table, new[KEY], expression, names, values, condition)


def add_to(table: str, pk: str, attr: str, delta: int, condition: Condition) -> dict[str, Any]:
    """ADD ``delta`` to counter ``attr`` of item ``pk``, under ``condition``."""
    return _update(table, pk, "ADD #n :d", {"#n": attr}, {":d": delta}, condition)


def check(table: str, pk: str, condition: Condition) -> dict[str, Any]:
    args = condition.arguments()
    return {"ConditionCheck": {"TableName": table, "Key": {KEY: {"S": pk}}, **args}}


def delete(table: str, pk: str, condition: Condition, sk: str | None = None) -> dict[str, Any]:
    return {
        "Delete": {
            "TableName": table,
            "Key": _key(pk, sk),
            **condition.arguments(),
            **_RETURN_OLD,
        }
    }


def add(table: str, pk: str, sk: str, amounts: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Add ``amounts`` to counters of an item that may not exist yet (ADD starts at 0).

    The tenant is set on first write and must match on every later one."""
    names = {f"#c{i}": attr for i, attr in enumerate(amounts)} | {"#tid": TENANT_ATTR}
    values = {f":c{i}": v for i, v in enumerate(amounts.values())} | {":tid": tenant}
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(amounts)))
    mine = Condition("attribute_not_exists(#k) OR #tid = :tid", {"#k": KEY}, {})
    return _update(table, pk, f"SET #tid = :tid ADD {adds}", names, values, mine, sk)


def set_attrs(
    table: str, pk: str, sk: str | None, attrs: dict[str, Any], condition: Condition
) -> dict[str, Any]:
    """SET the given attributes (REMOVE those given as None) of one item, under ``condition``."""
    sets = {k: v for k, v in attrs.items() if v is not None}
    removes = [k for k, v in attrs.items() if v is None]
    names = {f"#s{i}": k for i, k in enumerate(sets)} | {f"#x{i}": k for i, k in enumerate(removes)}
    values = {f":s{i}": v for i, v in enumerate(sets.values())}
    parts = []
    if sets:
        parts.append("SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets))))
    if removes:
        parts.append("REMOVE " + ", ".join(f"#x{i}" for i in range(len(removes))))
    return _update(table, pk, " ".join(parts), names, values, condition, sk)


def _key(pk: str, sk: str | None) -> dict[str, Any]:
    return {KEY: {"S": pk}} | ({SORT: {"S": sk}} if sk is not None else {})


def _update(
    table: str,
    pk: str,
    expression: str,
    names: dict[str, str],
    values: dict[str, Any],
    condition: Condition,
    sk: str | None = None,
) -> dict[str, Any]:
    cond = condition.arguments()
    all_names = names | cond.pop("ExpressionAttributeNames", {})
    all_values = serialize(values) | cond.pop("ExpressionAttributeValues", {})
    args: dict[str, Any] = {
        "TableName": table,
        "Key": _key(pk, sk),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": all_names,
        **cond,
        **_RETURN_OLD,
    }
    if all_values:
        args["ExpressionAttributeValues"] = all_values
    return {"Update": args}
