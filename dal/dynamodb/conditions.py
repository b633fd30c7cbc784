"""Condition expressions: each carries its own attribute names and values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dal.dynamodb.items import serialize
from dal.dynamodb.tables import KEY


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition expression with its own names and values."""

    expression: str
    names: Mapping[str, str]
    values: Mapping[str, Any]

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {"ConditionExpression": self.expression}
        if self.names:
            args["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            args["ExpressionAttributeValues"] = serialize(self.values)
        return args


def both(first: Condition, second: Condition) -> Condition:
    """``first AND second``; their placeholder names must not clash."""
    return Condition(
        f"({first.expression}) AND ({second.expression})",
        {**first.names, **second.names},
        {**first.values, **second.values},
    )


def owned_by(tenant_id: str) -> Condition:
    """The write condition of every model: the stored item is this tenant's."""
    return Condition("#tid = :tid", {"#tid": "tenantId"}, {":tid": tenant_id})


def absent() -> Condition:
    return Condition("attribute_not_exists(#k)", {"#k": KEY}, {})


def present() -> Condition:
    return Condition("attribute_exists(#k)", {"#k": KEY}, {})


def at_version(version: int) -> Condition:
    return Condition("#v = :v", {"#v": "version"}, {":v": version})


def matching(
    equals: Mapping[str, Any],
    prefixes: Mapping[str, str] | None = None,
    ranges: Mapping[str, tuple[str, str]] | None = None,
    extra: Condition | None = None,
) -> Condition | None:
    """A filter: ``equals`` attributes equal, ``prefixes`` starting so, ``ranges`` within."""
    parts, names, values = [], {}, {}
    for i, (attr, (low, high)) in enumerate((ranges or {}).items()):
        parts.append(f"#r{i} BETWEEN :r{i}a AND :r{i}b")
        names[f"#r{i}"], values[f":r{i}a"], values[f":r{i}b"] = attr, low, high
    if extra is not None:
        parts.append(f"({extra.expression})")
        names.update(extra.names)
        values.update(extra.values)
    for i, (attr, value) in enumerate(equals.items()):
        parts.append(f"#f{i} = :f{i}")
        names[f"#f{i}"], values[f":f{i}"] = attr, value
    for i, (attr, prefix) in enumerate((prefixes or {}).items()):
        parts.append(f"begins_with(#p{i}, :p{i})")
        names[f"#p{i}"], values[f":p{i}"] = attr, prefix
    return Condition(" AND ".join(parts), names, values) if parts else None
