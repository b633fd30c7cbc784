"""Taking a subject's values out of text: whole words, any case, replaced by a mark.

The needles are every value the subject's record held (its history included):
names, addresses, numbers. A needle matches as a whole word (not inside a
longer word) in any case, so "Ann" is taken out of "Call Ann Lee" but not out
of "Annual review". Values shorter than ``SHORTEST`` are not searched for: they
would match everywhere and say nothing about a person.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MARK = "[erased]"
SHORTEST = 3


def needles_of(value: Any) -> set[str]:
    """The strings inside a value (JSON-like), worth searching for."""
    if isinstance(value, str):
        text = value.strip()
        return {text} if len(text) >= SHORTEST and text != MARK else set()
    if isinstance(value, dict):
        return set().union(*(needles_of(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(needles_of(v) for v in value)) if value else set()
    return set()


class Scrubber:
    """``needles`` out of text; and, in JSON-like values, the ``personal`` fields of
    any object whose ``id`` is one of ``ids`` (a stored answer that echoes the subject)."""

    def __init__(
        self,
        needles: Iterable[str],
        ids: Iterable[str] = (),
        personal: Iterable[str] = (),
        only: Iterable[str] | None = None,
    ) -> None:
        kept = {n for n in needles if len(n) >= SHORTEST}
        # As JSON text spells them too (a non-ASCII "José" is "Jos\u00e9" in a .jsonl file).
        kept |= {json.dumps(n)[1:-1] for n in kept}
        wanted = sorted(kept, key=len, reverse=True)
        self.needles = tuple(wanted)
        self.ids, self.personal = frozenset(ids), frozenset(personal)
        # The top-level fields of a record whose text is searched (None: all): free text,
        # never an enum ("LEAD") or an id that a value might happen to spell.
        self.only = None if only is None else frozenset(only)
        alternatives = "|".join(re.escape(n) for n in wanted) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def found_in(self, text: str, final: bool = True) -> bool:
        """Whether ``text`` holds a needle (as a whole word, in any case); not ``final``
        (more text follows), a match at its very end does not count: the word may go on."""
        if not self.needles:
            return False
        if final:
            return self._pattern.search(text) is not None
        return any(m.end() < len(text) for m in self._pattern.finditer(text))

    def text(self, text: str) -> str:
        return self._pattern.sub(MARK, text) if self.needles else text

    def record(self, value: Any) -> Any:
        """A record (a change-log snapshot, an archived copy): its ``only`` fields."""
        if not isinstance(value, dict) or self.only is None:
            return self.value(value)
        theirs = _names_one(value.get("id"), self.ids)
        return {k: self._field(k, v, theirs) if k in self.only or theirs else v
                for k, v in value.items()}  # fmt: skip

    def value(self, value: Any) -> Any:
        """``value`` (JSON-like) with every string scrubbed; dict keys are field names.
        A string that holds JSON (an Idempotency-Key answer's body) is scrubbed inside."""
        if isinstance(value, str):
            return self.stored(value)
        if isinstance(value, dict):
            theirs = _names_one(value.get("id"), self.ids)
            return {k: self._field(k, v, theirs) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def stored(self, value: str, *, record: bool = False) -> str:
        """Text as stored: JSON stays JSON, rewritten only when a value changed (the
        text may escape what the needles spell plainly); ``record``: a record's JSON,
        scrubbed where ``only`` says."""
        if value[:1] in ("{", "["):
            try:
                parsed = json.loads(value)
            except ValueError:
                return self.text(value)
            scrubbed = self.record(parsed) if record else self.value(parsed)
            return value if scrubbed == parsed else json.dumps(scrubbed, separators=(",", ":"))
        return self.text(value)

    def _field(self, name: str, value: Any, theirs: bool) -> Any:
        if theirs and name in self.personal and value is not None:
            return MARK if isinstance(value, str) else None
        return self.value(value)

    def bytes_hold(self, body: bytes) -> bool:
        return self.found_in(body.decode("utf-8", errors="replace"))


def _names_one(value: Any, ids: frozenset[str]) -> bool:
    """Whether an object's ``id`` is one of ``ids`` (an ``id`` may be any JSON)."""
    return isinstance(value, str) and value in ids
