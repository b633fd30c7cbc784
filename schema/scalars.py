"""Scalars whose wire form is ours: ``Decimal`` is money, two decimals, no exponents.

Strawberry's own Decimal prints ``str(value)``: DynamoDB gives 100.10 back as
100.1, and a sum can come out as ``1E+2``. Ours prints ``cents`` (``dal.money``)
and reads only plain decimal notation: ``"1E+2"`` or ``1e2`` is refused as input,
so no amount is ever stored in a form the API would not print back.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import strawberry
from graphql import FloatValueNode, GraphQLError, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from dal import money

PLAIN = re.compile(r"^[+-]?\d{1,20}(\.\d{1,20})?$")


def _serialize(value: Any) -> str:
    return str(money.cents(Decimal(value)))


def _parse(value: Any) -> Decimal:
    """A string ("1200.50"), an integer, or a JSON number without an exponent."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise GraphQLError('a Decimal is a string of digits such as "1200.50"')
    text = repr(value) if isinstance(value, float) else str(value).strip()
    if not PLAIN.fullmatch(text):
        raise GraphQLError(
            f"{text!r} is not a plain decimal: write digits with an optional point, "
            'such as "1200.50" (no exponent)'
        )
    return Decimal(text)


def _parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Decimal:
    """A literal in the document: its text as written (``1E+2`` stays an exponent)."""
    if isinstance(node, IntValueNode | FloatValueNode | StringValueNode):
        return _parse(node.value)
    raise GraphQLError('a Decimal is a string of digits such as "1200.50"')


MONEY = strawberry.scalar(
    name="Decimal",
    description='Money: a string with exactly two decimals, such as "1200.50".',
    serialize=_serialize,
    parse_value=_parse,
    parse_literal=_parse_literal,
)
# StrawberryConfig.scalar_map: every ``Decimal`` of the schema is money.
SCALARS: dict[object, ScalarDefinition] = {Decimal: MONEY}
