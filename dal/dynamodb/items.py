"""Items as the DAL handles them (plain Python values) and as DynamoDB's wire format has them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

Item = dict[str, Any]
_ser = TypeSerializer()
_de = TypeDeserializer()


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """Wire format; ``None`` values are left out (an absent attribute, not a NULL)."""
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def deserialize(raw: Mapping[str, Any]) -> Item:
    return {k: _de.deserialize(v) for k, v in raw.items()}
