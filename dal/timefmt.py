"""How times are stored: fixed-width UTC ISO-8601, so string order is time order."""

from __future__ import annotations

from datetime import UTC, date, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def dump_dt(value: datetime) -> str:
    return to_utc(value).strftime(_FORMAT)


def load_dt(value: str) -> datetime:
    return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)


def dump_date(value: date) -> str:
    return value.isoformat()


def load_date(value: str) -> date:
    return date.fromisoformat(value)
