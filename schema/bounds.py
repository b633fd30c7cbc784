"""The bounds a GraphQL document must keep: a value of its own, read by the limits
extension (schema/limits.py), the cost measure (schema/cost.py) and the edge."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 15
    max_tokens: int = 1000
    max_characters: int = 15_000
    max_root_fields: int = 20
    max_directives: int = 50
    max_cost: int = 10_000
    # `first` when a connection omits it (or passes null), and the most a page
    # holds: also the size of a list that declares none (schema/cost.py).
    default_first: int = 20
    max_first: int = 100
