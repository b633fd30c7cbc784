"""Arguments shared by every connection field."""

from __future__ import annotations

from resolvers.context import Info
from resolvers.errors import BadUserInput


def page_size(info: Info, first: int | None) -> int:
    limits = info.context.limits
    size = limits.default if first is None else first
    if not 1 <= size <= limits.maximum:
        raise BadUserInput(f"first must be between 1 and {limits.maximum}", field="first")
    return size
