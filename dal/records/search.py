"""Prefix search over customer names: one Query on the search terms per page.

Each customer has a term item per word of its name (and one for the whole name
when it has several words), in two partitions: single words, and whole names
(a prefix with a space searches those). A prefix search is a ``begins_with``
Query, A-Z.

A name with two words that start with the prefix ("Alpha Atlas", prefix "a")
has two matching terms; the customer is listed at the first one (A-Z) only, so
each appears once across all pages. The term items carry the customer's words,
so the repeats are skipped without reading the customers; a page reads terms
until it holds ``first`` customers, or its budget of Query calls is spent.
Then it ends with a cursor where reading stopped: a page may hold fewer
customers than asked (even none, after a long run of repeats) but
``hasNextPage`` always comes with a cursor to follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dal.derived.contributions import Term
from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.items import Item
from dal.dynamodb.tables import KEY, SEARCH_TERMS, SORT, Index
from dal.errors import InvalidCursor
from dal.records.cursors import CursorCodec
from dal.records.pages import Listing
from dal.tenancy.scope import TenantScope

MAX_TERMS = 12  # words of a name that are searchable (a transaction holds 100 writes)
WORDS, NAMES = "customer-words", "customer-names"
# Ends a term in its sort key: below " ", so "acme corp" sorts before "acme corp europe".
END = "\x1f"
CALLS = 10  # Query calls one page may make
READ = 100  # terms one call reads at most
TERMS = Index("SearchTerms", KEY, SORT, "customer name terms")


def words(text: str) -> list[str]:
    """Lower-cased words, first occurrence only: how names and prefixes are compared."""
    return list(dict.fromkeys(re.findall(r"\w+", text.lower())))


def terms(scope: TenantScope, id: str, name: str) -> tuple[Term, ...]:
    """Each word of the name, and the whole name when it has several."""
    found = words(name)[:MAX_TERMS]
    spelled = " ".join(found)
    out = [Term(scope.key(WORDS), f"{w}{END}{id}", id, spelled) for w in found]
    if len(found) > 1:
        out.append(Term(scope.key(NAMES), f"{spelled}{END}{id}", id, spelled))
    return tuple(out)


def _listed_here(term: str, item: Item) -> bool:
    """Whether this term item is where its customer is listed for ``term``: a whole
    name always; a word only if it is the customer's first (A-Z) matching word."""
    if " " in term:
        return True
    matching = (w for w in str(item.get("words", "")).split() if w.startswith(term))
    return str(item[SORT]).split(END)[0] == min(matching, default="")


@dataclass(frozen=True, slots=True)
class Found:
    ids: list[str]  # customers, in order
    cursors: list[str]  # one per id, and one more where a cut-short page stopped
    has_next: bool


class Search:
    def __init__(self, dynamo: Dynamo, scope: TenantScope, cursors: CursorCodec) -> None:
        self._dynamo, self._scope, self._cursors = dynamo, scope, cursors
        self._table = scope.table(SEARCH_TERMS.entity)

    async def page(self, prefix: str, first: int, after: str | None) -> Found:
        term = " ".join(words(prefix))
        if not term:  # no letter or digit: nothing can start with it
            return Found([], [], False)
        partition = self._scope.key(NAMES if " " in term else WORDS)
        listing = Listing(TERMS, partition, sort=SortCondition("begins_with", (term,)))
        start = self._start(listing, after)
        kept, stop = await self._read(listing, term, first, start)
        cursors = [self._cursor(listing, i) for i in kept[:first]]
        if len(kept) <= first and stop is not None:
            cursors.append(self._cursor(listing, stop))
        has_next = len(kept) > first or stop is not None
        return Found([str(i["targetId"]) for i in kept[:first]], cursors, has_next)

    async def _read(
        self, listing: Listing, term: str, first: int, start: Item | None
    ) -> tuple[list[Item], Item | None]:
        """Listed terms until one more than ``first``, or the budget; and where it
        stopped (None at the end of the terms)."""
        kept: list[Item] = []
        for _ in range(CALLS):
            items, start = await self._dynamo.query(
                self._table,
                None,
                (KEY, listing.partition),
                sort=(SORT, listing.sort) if listing.sort else None,
                limit=min(READ, 2 * (first + 1 - len(kept)) + 1),
                start=start,
            )
            for item in filter(self._scope.owns, items):
                if _listed_here(term, item):
                    kept.append(item)
            if len(kept) > first or start is None:
                break
        return kept, start

    def _cursor(self, listing: Listing, item: Item) -> str:
        position = {KEY: str(item[KEY]), SORT: str(item[SORT])}
        bound = listing.fingerprint()
        return self._cursors.encode(self._scope.tenant_id, TERMS.name, position, bound=bound)

    def _start(self, listing: Listing, after: str | None) -> Item | None:
        if after is None:
            return None
        bound = listing.fingerprint()
        opened = self._cursors.decode(self._scope.tenant_id, TERMS.name, after, bound=bound)
        if opened.position.get(KEY) != listing.partition:
            raise InvalidCursor("cursor belongs to another list")
        return dict(opened.position)
