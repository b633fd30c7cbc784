"""Data derived from records.

A record *contributes* to counters (aggregates) and owns search terms. Its search
terms are its own items: a write puts and deletes them in the record's own
TransactWriteItems. Counters are shared by every record of a tenant, so no write
touches them: the stream consumer (``dal/streams``) moves them from a record's old
contributions to its new ones after the write commits, exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dal.dynamodb import writes
from dal.dynamodb.conditions import Condition, absent
from dal.dynamodb.tables import KEY, SEARCH_TERMS, SORT
from dal.tenancy.scope import TENANT_ATTR, TenantScope


@dataclass(frozen=True, slots=True)
class Count:
    """``amount`` added to counter ``attr`` of the aggregate item (pk, sk)."""

    pk: str
    sk: str
    attr: str
    amount: Decimal | int


@dataclass(frozen=True, slots=True)
class Term:
    """A search term item (pk, sk) pointing at record ``target``; ``words`` are the
    record's searchable words, so a search can tell where the record is listed
    without reading it."""

    pk: str
    sk: str
    target: str
    words: str = ""


@dataclass(frozen=True, slots=True)
class Derived:
    counts: tuple[Count, ...] = ()
    terms: tuple[Term, ...] = ()


NOTHING = Derived()


def operations(scope: TenantScope, old: Derived, new: Derived) -> list[dict[str, Any]]:
    """The writes of the record's transaction that turn ``old`` search terms into ``new``."""
    return _term_ops(scope, old, new)


def _term_ops(scope: TenantScope, old: Derived, new: Derived) -> list[dict[str, Any]]:
    table, before, after = scope.table(SEARCH_TERMS.entity), set(old.terms), set(new.terms)
    mine = Condition(
        "attribute_not_exists(#k) OR #tid = :tid",
        {"#k": KEY, "#tid": TENANT_ATTR},
        {":tid": scope.tenant_id},
    )
    # By key: a rename keeps a word's item but changes the words it carries, and
    # one transaction may not touch an item twice (a Delete and a Put of it).
    old_at = {(t.pk, t.sk): t for t in before}
    new_at = {(t.pk, t.sk): t for t in after}
    gone = sorted((t for k, t in old_at.items() if k not in new_at), key=str)
    ops = [writes.delete(table, t.pk, mine, t.sk) for t in gone]
    for key, t in sorted(new_at.items(), key=lambda kv: str(kv[1])):
        if key not in old_at:
            ops.append(writes.put(table, term_item(scope, t), absent()))
        elif old_at[key] != t:
            ops.append(writes.put(table, term_item(scope, t), mine))
    return ops


def term_item(scope: TenantScope, t: Term) -> dict[str, Any]:
    return {
        KEY: t.pk,
        SORT: t.sk,
        "targetId": t.target,
        "words": t.words,
        TENANT_ATTR: scope.tenant_id,
    }
