"""Counters of the cache per layer: hits, misses, errors, fills, invalidations.

Plain integers in process memory, read by ``/metrics`` (a later issue) and by
the tests; never reset, as Prometheus counters are not.
"""

from __future__ import annotations

from collections import Counter

OUTCOMES = ("hit", "miss", "error", "fill", "invalidation")


class Stats:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, layer: str, outcome: str, n: int = 1) -> None:
        if n:
            self._counts[(layer, outcome)] += n

    def get(self, layer: str, outcome: str) -> int:
        return self._counts[(layer, outcome)]

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{layer: {outcome: count}}`` for every layer seen."""
        out: dict[str, dict[str, int]] = {}
        for (layer, outcome), n in sorted(self._counts.items()):
            out.setdefault(layer, dict.fromkeys(OUTCOMES, 0))[outcome] = n
        return out
