"""Per-tenant generation tokens: what list, report and dashboard keys are built on.

A write bumps the generations of what it changes; keys built on the old token
are then never read again and expire. Tokens are random, not counters: a hash
evicted or flushed comes back with new tokens, never with a value some stale
key was built on (a counter would restart at 1 and meet old keys again).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dal.cache.keys import EPOCH, GENERATIONS, digest


def token() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class Generations:
    tokens: Mapping[str, str]

    @property
    def epoch(self) -> str:
        return self.tokens[EPOCH]

    def of(self, layer: str) -> str:
        """The token a key of ``layer`` is built on (the epoch's with it)."""
        return f"{self.tokens[EPOCH]}.{self.tokens.get(layer, '0')}"

    def fingerprint(self, layers: Iterable[str]) -> str:
        return digest([self.epoch, *(self.tokens.get(layer, "0") for layer in sorted(layers))])


def fresh(missing: Iterable[str]) -> dict[str, str]:
    return {name: token() for name in missing}


FIELDS = tuple(str(g) for g in GENERATIONS)
