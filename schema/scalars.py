"""Scalars whose wire form is ours: ``Decimal`` is money, two decimals, no exponents;
``Date`` and ``DateTime`` read only ISO 8601's extended form, within ``dal.timefmt``'s
range (a time near datetime's ends overflows when converted; the client's fault).

Strawberry's own Decimal prints ``str(value)``: DynamoDB gives 100.10 back as
100.1, and a sum can come out as ``1E+2``. Ours prints ``cents`` (``dal.money``)
and reads only plain decimal notation: ``"1E+2"`` or ``1e2`` is refused as input,
so no amount is ever stored in a form the API would not print back. Only the
canonical form: ASCII digits, no "+", no spaces, no leading zeros (Arabic-Indic and
fullwidth digits are digits to a regex and to ``Decimal``, not to a person reading
an invoice).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from graphql import FloatValueNode, GraphQLError, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from dal import money, timefmt

PLAIN = re.compile(r"-?(0|[1-9][0-9]{0,19})(\.[0-9]{1,20})?")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The extended form, whole: fromisoformat also reads "20260101T...", "T1030",
# "+0100", "10:00:00,5", a space for the T, a date alone, nanoseconds (cut).
ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _serialize(value: Any) -> str:
    return str(money.cents(Decimal(value)))


def _parse(value: Any) -> Decimal:
    """A string ("1200.50"), an integer, or a JSON number without an exponent."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise GraphQLError('a Decimal is a string of digits such as "1200.50"')
    text = repr(value) if isinstance(value, float) else str(value)
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


def _parse_date(value: Any) -> date:
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise GraphQLError('a Date is written YYYY-MM-DD, such as "2026-01-31"')
    try:
        return timefmt.in_range_date(date.fromisoformat(value))
    except ValueError as exc:  # timefmt.OutOfRange is one
        raise GraphQLError(f"{value!r} is not a valid Date: {exc}") from None


def _parse_datetime(value: Any) -> datetime:
    """In UTC (a time without a zone is UTC: the contract's DateTime is)."""
    if not isinstance(value, str) or not ISO_DATETIME.fullmatch(value):
        raise GraphQLError('a DateTime is ISO 8601, such as "2026-01-31T09:30:00Z"')
    try:
        return timefmt.in_range(datetime.fromisoformat(value))
    except ValueError as exc:
        raise GraphQLError(f"{value!r} is not a valid DateTime: {exc}") from None


def _isoformat(value: date) -> str:
    return value.isoformat()


# Names and descriptions as Strawberry's own, which these replace: the SDL is unchanged.
DATE = strawberry.scalar(
    name="Date", description="Date (isoformat)", serialize=_isoformat, parse_value=_parse_date
)
DATETIME = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=_isoformat,
    parse_value=_parse_datetime,
)
# StrawberryConfig.scalar_map: every ``Decimal`` of the schema is money.
SCALARS: dict[object, ScalarDefinition] = {Decimal: MONEY, date: DATE, datetime: DATETIME}
