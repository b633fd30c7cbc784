"""Relay-style connections. ``Connection[Customer]`` is named ``CustomerConnection``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from dal.models import Page

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def connection(page: Page[R], wrap: Callable[[R], T]) -> Connection[T]:
    edges = [Edge(node=wrap(r), cursor=c) for r, c in zip(page.items, page.cursors, strict=False)]
    return Connection(
        edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor)
    )
