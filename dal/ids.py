"""Record ids: typed by entity and time-ordered, so an id names one record in a tenant.

A server id is ``{prefix}_{ulid}``: the prefix says which table holds the record
(an activity's ``relatedId`` needs no lookup to know what it points at), and a
ULID (48 bits of milliseconds, 80 random bits, Crockford base32, lower case)
sorts by creation time and never repeats in practice. A client-chosen id
(offline creation) must carry its entity's prefix too, so ``cus_x1`` and
``con_x1`` can never be taken for one another.

User ids are the identity provider's subjects (Cognito's are UUIDs): any
well-formed id that does not carry a record prefix. A user created through the
API without an id gets ``usr_{ulid}``.
"""

from __future__ import annotations

import hashlib
import os
import re
import time

from dal.models import Entity

PREFIXES: dict[Entity, str] = {
    Entity.CUSTOMER: "cus",
    Entity.CONTACT: "con",
    Entity.OPPORTUNITY: "opp",
    Entity.ACTIVITY: "act",
    Entity.USER: "usr",
    Entity.DOCUMENT: "doc",
}
# Prefixes of records other than users.
RECORD_PREFIXES = {p: e for e, p in PREFIXES.items() if e is not Entity.USER}
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Subjects of tokens are user ids: longer and freer than ids the API hands out.
SUBJECT_MAX = 128
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        out.append(_CROCKFORD[digit])
    return "".join(reversed(out))


def ulid(now_ms: int | None = None) -> str:
    """26 characters: 10 of milliseconds since 1970, 16 of randomness."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return _base32(ms, 10) + _base32(int.from_bytes(os.urandom(10), "big"), 16)


def new_id(entity: Entity) -> str:
    return f"{PREFIXES[entity]}_{ulid()}"


def derived(entity: Entity, seed: str, at_ms: int) -> str:
    """An id that ``seed`` always gives: an import's row without an id gets the
    same one on every run of the job, so a resumed chunk cannot create it twice."""
    digest = int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=10).digest(), "big")
    return f"{PREFIXES[entity]}_{_base32(at_ms, 10)}{_base32(digest, 16)}"


def well_formed(id: str) -> bool:
    return ID.fullmatch(id) is not None


def entity_of(id: str) -> Entity | None:
    """The record entity an id's prefix names; None for a user id or a malformed one."""
    prefix, sep, rest = id.partition("_")
    return RECORD_PREFIXES.get(prefix) if sep and rest else None


def subject_like(id: str) -> bool:
    """A user id as identity providers make them (UUIDs, ``auth0|...``): 1-128
    printable characters without spaces or ``@``, and no record prefix. No ``@``:
    an id is kept where an erasure cannot rewrite it (records' ownerId, the change
    log's actor keys), so it must not be an e-mail address, nor hold one."""
    visible = id.isprintable() and not any(c.isspace() for c in id)
    return 0 < len(id) <= SUBJECT_MAX and visible and "@" not in id and entity_of(id) is None


def names(entity: Entity, id: str) -> bool:
    """Whether ``id`` can name a record of ``entity`` (its form, not its existence)."""
    if entity is Entity.USER:
        return subject_like(id)
    return well_formed(id) and entity_of(id) is entity


def expected_form(entity: Entity) -> str:
    """How an id of ``entity`` looks, for error messages."""
    if entity is Entity.USER:
        kinds = ", ".join(f"{p}_" for p in RECORD_PREFIXES)
        return (
            f"1-{SUBJECT_MAX} printable characters without spaces or @ (an id is no place "
            f"for an e-mail address: an erasure cannot rewrite ids), not starting with {kinds}"
        )
    return f"'{PREFIXES[entity]}_' followed by up to 60 characters of A-Z a-z 0-9 _ -"
