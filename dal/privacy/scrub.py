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
    ) -> None:
        kept = {n for n in needles if len(n) >= SHORTEST}
        # As JSON text spells them too (a non-ASCII "José" is "Jos\u00e9" in a .jsonl file).
        kept |= {json.dumps(n)[1:-1] for n in kept}
        wanted = sorted(kept, key=len, reverse=True)
        self.needles = tuple(wanted)
        self.ids, self.personal = frozenset(ids), frozenset(personal)
        alternatives = "|".join(re.escape(n) for n in wanted) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def found_in(self, text: str) -> bool:
        return bool(self.needles) and self._pattern.search(text) is not None

    def text(self, text: str) -> str:
        return self._pattern.sub(MARK, text) if self.needles else text

    def value(self, value: Any) -> Any:
        """``value`` (JSON-like) with every string scrubbed; dict keys are field names."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            theirs = value.get("id") in self.ids
            return {k: self._field(k, v, theirs) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def _field(self, name: str, value: Any, theirs: bool) -> Any:
        if theirs and name in self.personal and value is not None:
            return MARK if isinstance(value, str) else None
        return self.value(value)

    def json_text(self, raw: str) -> str:
        """A JSON document stored as text, scrubbed value by value (its keys kept)."""
        scrubbed = self.value(json.loads(raw))
        return json.dumps(scrubbed, separators=(",", ":"), sort_keys=True, default=str)

    def bytes_hold(self, body: bytes) -> bool:
        return self.found_in(body.decode("utf-8", errors="replace"))
