"""Relay-style connections. ``Connection[Customer]`` is named ``CustomerConnection``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry
from aiodataloader import DataLoader

from dal.models import Page
from resolvers.context import Info

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


class Nodes(Generic[R, T]):
    """A connection kept in the cache as node ids and cursors; the nodes are read
    again through their loader (the record layer), so a change to a node shows
    at once and needs no bump of the lists it is in."""

    def __init__(
        self, loader: Callable[[Info], DataLoader[str, R | None]], wrap: Callable[[R], T]
    ) -> None:
        self.loader, self.wrap = loader, wrap

    def encode(self, value: Connection[T]) -> tuple[list[tuple[str, str]], bool, str | None]:
        edges = [(str(getattr(e.node, "id")), e.cursor) for e in value.edges]  # noqa: B009
        return edges, value.page_info.has_next_page, value.page_info.end_cursor

    async def decode(
        self, value: tuple[list[tuple[str, str]], bool, str | None], info: Info
    ) -> Connection[T]:
        edges, has_next, end = value
        records = await self.loader(info).load_many([id for id, _ in edges])
        kept = [
            Edge(node=self.wrap(r), cursor=c)
            for r, (_, c) in zip(records, edges, strict=True)
            if r is not None
        ]
        return Connection(edges=kept, page_info=PageInfo(has_next_page=has_next, end_cursor=end))
