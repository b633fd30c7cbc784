"""GraphQL objects from DAL records: the plain fields share their names with the record's."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

from dal import models

T = TypeVar("T")
_PLAIN: dict[type, tuple[str, ...]] = {}


def _plain_fields(cls: type) -> tuple[str, ...]:
    """Once per type, not per node: a list of 100 records wraps 100 objects."""
    if cls not in _PLAIN:
        fields = dataclasses.fields(cls)
        _PLAIN[cls] = tuple(f.name for f in fields if f.init and f.name != "record")
    return _PLAIN[cls]


def wrap(cls: type[T], record: models.Record) -> T:
    """An instance of ``cls`` holding ``record`` (private) and its plain fields."""
    plain = {name: getattr(record, name) for name in _plain_fields(cls)}
    build: Any = cls
    return cast(T, build(**plain, record=record))
