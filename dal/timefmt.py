"""How times are stored: fixed-width UTC ISO-8601, so string order is time order."""

from __future__ import annotations

from datetime import UTC, date, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The days a time or date may fall on: four-digit years (``_FORMAT``'s fixed width,
# which makes string order time order), and a year short of datetime's end, so a
# zone's offset or a period added to any of them is still a datetime (reports).
FIRST_DAY = date(1000, 1, 1)
LAST_DAY = date(9998, 12, 31)


class OutOfRange(ValueError):
    """A time or date outside [FIRST_DAY, LAST_DAY]."""

    def __init__(self) -> None:
        super().__init__(f"must fall between {FIRST_DAY} and {LAST_DAY}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def in_range(value: datetime) -> datetime:
    """``value`` in UTC (a zone-less time is UTC), or OutOfRange: converting a time
    near datetime's ends overflows, and that is the client's value, not our error."""
    try:
        utc = to_utc(value)
    except OverflowError as exc:
        raise OutOfRange() from exc
    in_range_date(utc.date())
    return utc


def in_range_date(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise OutOfRange()
    return value


def dump_dt(value: datetime) -> str:
    return to_utc(value).strftime(_FORMAT)


def load_dt(value: str) -> datetime:
    return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)


def dump_date(value: date) -> str:
    return value.isoformat()


def load_date(value: str) -> date:
    return date.fromisoformat(value)
