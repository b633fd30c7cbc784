"""Input checks. Each failure is BAD_USER_INPUT naming the GraphQL field.

Limits keep core items well under DynamoDB's sweet spot of 1 KB (README, "Limits").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from email_validator import EmailNotValidError, validate_email

from dal import ids
from dal.models import Entity
from dal.records.activities import RELATABLE
from dal.timefmt import to_utc
from resolvers.errors import BadUserInput

Check = Callable[[str, Any], Any]
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_JSON_CHARS = 1000
# Deeper values break what walks them recursively (pickle, json, equality): a value
# 400 arrays deep, stored, made every later read of its list fail.
MAX_JSON_DEPTH = 32
MAX_MONEY = Decimal("1e15")


def text(max_len: int, *, required: bool = False) -> Check:
    def check(field: str, value: Any) -> str | None:
        if value is None:
            if required:
                raise BadUserInput(f"{field} must not be null", field)
            return None
        value = str(value).strip()
        if required and not value:
            raise BadUserInput(f"{field} must not be empty", field)
        if len(value) > max_len:
            raise BadUserInput(f"{field} is longer than {max_len} characters", field)
        return value or None

    return check


def email(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if len(str(value)) > 254:
        raise BadUserInput(f"{field} is longer than 254 characters", field)
    try:
        return str(validate_email(str(value), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise BadUserInput(f"{field} is not a valid e-mail address: {exc}", field) from exc


def required_email(field: str, value: Any) -> str:
    checked = email(field, value)
    if checked is None:
        raise BadUserInput(f"{field} must not be null", field)
    return checked


def ident(field: str, value: Any) -> str | None:
    if value is not None and not ID_PATTERN.fullmatch(str(value)):
        raise BadUserInput(f"{field} must be 1-64 characters of A-Z a-z 0-9 _ -", field)
    return value if value is None else str(value)


def record_id(entity: Entity) -> Check:
    """An id of ``entity``: a client-chosen one must carry the entity's prefix."""

    def check(field: str, value: Any) -> str | None:
        if value is not None and not ids.names(entity, str(value)):
            raise BadUserInput(f"{field} must be {ids.expected_form(entity)}", field)
        return value if value is None else str(value)

    return check


user_id = record_id(Entity.USER)


def relatable_id(field: str, value: Any) -> str | None:
    """What an activity is about: a customer, contact or opportunity, by its prefix."""
    if value is not None and ids.entity_of(str(value)) not in RELATABLE:
        raise BadUserInput(
            f"{field} must name a customer, contact or opportunity (an id starting "
            "cus_, con_ or opp_)",
            field,
        )
    return value if value is None else str(value)


def blob(field: str, value: Any) -> Any:
    """A JSON value: its depth and size bounded before anything walks it recursively."""
    if value is None:
        return None
    bounded(field, value, MAX_JSON_DEPTH, MAX_JSON_CHARS)
    if len(json.dumps(value)) > MAX_JSON_CHARS:
        raise BadUserInput(f"{field} is larger than {MAX_JSON_CHARS} characters of JSON", field)
    return value


def bounded(field: str, value: Any, max_depth: int, max_chars: int) -> None:
    """Refuse ``value`` once it nests deeper than ``max_depth`` or its JSON would pass
    ``max_chars``. Iterative, and it stops at the first bound passed: its cost is
    bounded by the limits, never by the value."""
    stack, budget = [(value, 0)], max_chars
    while stack:
        node, depth = stack.pop()
        budget -= _own_chars(node, max_chars)
        if budget < 0:
            raise BadUserInput(f"{field} is larger than {max_chars} characters of JSON", field)
        if isinstance(node, dict | list):
            if depth >= max_depth:
                raise BadUserInput(f"{field} nests deeper than {max_depth} levels", field)
            stack.extend((c, depth + 1) for c in islice(_children(node), budget + 1))


def _own_chars(node: Any, limit: int) -> int:
    """A lower bound of the characters ``node`` adds to its JSON (its keys' too):
    never more than the exact count, so no value within the limit is refused."""
    if isinstance(node, str):
        return len(node) + 2
    if isinstance(node, dict):
        return 2 + sum(len(str(k)) + 3 for k in islice(node, limit + 1))
    return 2 if isinstance(node, list) else 1


def _children(node: dict[Any, Any] | list[Any]) -> Iterable[Any]:
    return node.values() if isinstance(node, dict) else node


def probability(field: str, value: Any) -> int | None:
    if value is not None and not 0 <= int(value) <= 100:
        raise BadUserInput(f"{field} must be between 0 and 100", field)
    return value if value is None else int(value)


def money(field: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
        raise BadUserInput(f"{field} must be a number from 0 to {MAX_MONEY:,.0f}", field)
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise BadUserInput(f"{field} has more than 2 decimal places", field)
    return amount


def not_null(check: Check) -> Check:
    """For updates: a field that may be left out but not set to null."""

    def wrapped(field: str, value: Any) -> Any:
        if value is None:
            raise BadUserInput(f"{field} must not be null", field)
        return check(field, value)

    return wrapped


def strings(max_items: int, max_len: int) -> Check:
    def check(field: str, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if len(value) > max_items:
            raise BadUserInput(f"{field} has more than {max_items} entries", field)
        each = text(max_len, required=True)
        return tuple(dict.fromkeys(str(each(field, v)) for v in value))

    return check


def keep(field: str, value: Any) -> Any:
    return value


def moment(field: str, value: Any) -> datetime | None:
    """A time without a zone is taken as UTC (the contract's DateTime is UTC)."""
    return None if value is None else to_utc(value)


def validate(values: Mapping[str, Any], rules: Mapping[str, tuple[str, Check]]) -> dict[str, Any]:
    """Check each given value by its rule; ``rules`` maps record field -> (API name, check)."""
    unknown = set(values) - set(rules)
    if unknown:  # an input field without a rule: a programming error, never the client's
        raise TypeError(f"no validation rule for {sorted(unknown)}")
    return {name: rules[name][1](rules[name][0], v) for name, v in values.items()}


def existing_id(entity: Entity, id: str) -> str:
    """The id of an update or delete: malformed is BAD_USER_INPUT, as on create; one
    of another entity is well-formed, and simply names nothing here (NOT_FOUND)."""
    if entity is Entity.USER and ids.names(entity, id):
        return id
    return key_id(id)


def key_id(id: str, field: str = "id") -> str:
    """An id looked up by key (a job's too): malformed is BAD_USER_INPUT here, never
    sent to the store (an empty key is DynamoDB's ValidationException)."""
    if not ID_PATTERN.fullmatch(id):
        raise BadUserInput(f"{field} must be 1-64 characters of A-Z a-z 0-9 _ -", field)
    return id
