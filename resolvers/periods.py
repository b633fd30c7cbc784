"""Report periods. Buckets are calendar days of the tenant's reporting time zone,
grouped into periods; a bucket is labelled with its first day (WEEK: ISO weeks,
starting Monday)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from resolvers.errors import BadUserInput

MAX_BUCKETS = 1100  # three years of days; a response stays small


class Period(enum.StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


def bucket_of(day: date, period: Period) -> date:
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    if period is Period.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def _next(start: date, period: Period) -> date:
    if period is Period.DAY:
        return start + timedelta(days=1)
    if period is Period.WEEK:
        return start + timedelta(days=7)
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def buckets(start: date, end: date, period: Period) -> list[date]:
    """Every bucket from the one holding ``start`` to the one holding ``end``."""
    if start > end:
        raise BadUserInput("from is after to", field="from")
    out, current = [], bucket_of(start, period)
    while current <= end:
        out.append(current)
        if len(out) > MAX_BUCKETS:
            raise BadUserInput(f"more than {MAX_BUCKETS} periods; use a longer period", "period")
        current = _next(current, period)
    return out


@dataclass(frozen=True, slots=True)
class Split:
    """An exact window [start, end] as whole days of a time zone (from the
    aggregates) and the partial days at its ends (from the records)."""

    days: tuple[date, date] | None
    edges: tuple[tuple[datetime, datetime], ...]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


def split(start: datetime, end: datetime, zone: ZoneInfo) -> Split:
    """Which days of ``zone`` lie wholly inside [start, end], and the rest of it."""
    if start > end:
        raise BadUserInput("from is after to", field="from")
    d0, d1 = start.astimezone(zone).date(), end.astimezone(zone).date()
    one_day, tick = timedelta(days=1), timedelta(microseconds=1)
    first = d0 if start == _midnight(d0, zone) else d0 + one_day
    last = d1 if end >= _midnight(d1 + one_day, zone) - tick else d1 - one_day
    edges = []
    if first > d0:
        edges.append((start, min(end, _midnight(d0 + one_day, zone) - tick)))
    if last < d1 and (d1 > d0 or first == d0):
        edges.append((max(start, _midnight(d1, zone)), end))
    return Split((first, last) if first <= last else None, tuple(edges))


def zone_of(preferences: Any) -> ZoneInfo:
    """A user's zone (``preferences.timeZone``, an IANA name); UTC when unset or unknown:
    a bad preference must not break the dashboard."""
    name = preferences.get("timeZone") if isinstance(preferences, dict) else None
    try:
        return ZoneInfo(str(name)) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def today(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first and last instant of ``now``'s calendar day in ``zone``."""
    midnight = _midnight(now.astimezone(zone).date(), zone)
    return midnight, midnight + timedelta(days=1) - timedelta(microseconds=1)
