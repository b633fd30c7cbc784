"""Report periods. Buckets are UTC calendar days grouped into periods; a bucket is
labelled with its first day (WEEK: ISO weeks, starting Monday)."""

from __future__ import annotations

import enum
from datetime import date, timedelta

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
