"""Records <-> DynamoDB items, described once per entity as a list of attributes."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from dal import money
from dal.derived.contributions import NOTHING, Derived
from dal.dynamodb.items import Item
from dal.dynamodb.tables import Table
from dal.models import Entity, Record
from dal.records.refs import Ref
from dal.tenancy.scope import TENANT_ATTR, TenantScope
from dal.timefmt import dump_date, dump_dt, load_date, load_dt

R = TypeVar("R", bound=Record)


def _dump(value: Any) -> Any:
    if value is None or isinstance(value, str | int | Decimal):
        return value
    if isinstance(value, datetime):
        return dump_dt(value)
    if isinstance(value, date):
        return dump_date(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def _public(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(money.cents(value))
    return _dump(value)


@dataclass(frozen=True, slots=True)
class Attr:
    """One stored attribute: DynamoDB name, dataclass field, and how to read it back."""

    name: str
    field: str
    load: Callable[[Any], Any] = str
    json: bool = False  # free-form JSON is stored as text: no float/Decimal surprises


def text(name: str, field: str) -> Attr:
    return Attr(name, field)


def number(name: str, field: str, kind: Callable[[Any], Any] = int) -> Attr:
    return Attr(name, field, kind)


def moment(name: str, field: str) -> Attr:
    return Attr(name, field, load_dt)


def day(name: str, field: str) -> Attr:
    return Attr(name, field, load_date)


def choice(name: str, field: str, enum_type: type[enum.Enum]) -> Attr:
    return Attr(name, field, enum_type)


def blob(name: str, field: str) -> Attr:
    return Attr(name, field, json.loads, json=True)


def strings(name: str, field: str) -> Attr:
    return Attr(name, field, tuple)


COMMON = (
    text("id", "id"),
    moment("createdAt", "created_at"),
    moment("updatedAt", "updated_at"),
    number("version", "version"),
)


class Codec(Generic[R]):
    def __init__(
        self,
        record: type[R],
        table: Table,
        attrs: tuple[Attr, ...],
        index_keys: Callable[[TenantScope, R], Mapping[str, str | int | None]],
        refs: Callable[[R], list[Ref]] = lambda _: [],
        derived: Callable[[TenantScope, R], Derived] = lambda _, __: NOTHING,
        *,
        referenced: bool = False,
        carried: tuple[str, ...] = (),
        logged: Callable[[R], bool] = lambda _: True,
        archived: bool = False,
        held_archive: bool = False,
        about: Callable[[R], str | None] = lambda _: None,
    ) -> None:
        self.record = record
        self.table = table
        self.entity = Entity(table.entity)
        self.attrs = COMMON + attrs
        self._index_keys = index_keys
        self.refs = refs
        self.derived = derived
        # Records point at this entity: it keeps a refs item (refs.py), which also
        # carries ``carried`` attributes that pointing records' conditions check.
        self.referenced = referenced
        self._carried = carried
        # Whether the change log (and so a device) sees the record: a PENDING upload
        # is no document yet.
        self.logged = logged
        # Business records: a delete keeps a copy in the archive (privacy/archive.py);
        # ``about`` is the contact a copy is about, for an erasure to find it.
        # Personal records (contacts) are archived only while the tenant is under legal
        # hold: their delete is then no purge either.
        self.archived, self.held_archive, self.about = archived, held_archive, about
        names = {f.name for f in fields(record)}
        if {a.field for a in self.attrs} != names:  # a definition error, at import
            raise TypeError(f"{record.__name__}: attrs != fields")

    def carried(self, rec: R) -> dict[str, Any]:
        """The attributes of ``rec`` its refs item keeps (stored names)."""
        by_name = {a.name: a for a in self.attrs}
        return {name: _dump(getattr(rec, by_name[name].field)) for name in self._carried}

    def item(self, scope: TenantScope, rec: R) -> Item:
        """The full item: key, tenant, attributes and every index key it belongs to."""
        out: Item = {"pk": scope.pk(rec.id), TENANT_ATTR: scope.tenant_id}
        for attr in self.attrs:
            value = getattr(rec, attr.field)
            if attr.json:
                out[attr.name] = None if value is None else json.dumps(value)
            else:
                out[attr.name] = _dump(value)
        out.update(self._index_keys(scope, rec))
        return {k: v for k, v in out.items() if v is not None}

    def public(self, rec: R) -> dict[str, Any]:
        """The record as JSON with the API's field names (the change log's copy):
        absent fields are null; money is a string, as the API writes it."""
        out: dict[str, Any] = {}
        for attr in self.attrs:
            value = getattr(rec, attr.field)
            if value is not None and value != ():
                out[attr.name] = value if attr.json else _public(value)
        return out

    def load(self, item: Item) -> R:
        values = {}
        for attr in self.attrs:
            raw = item.get(attr.name)
            if raw is not None:  # absent: the dataclass default (None, (), ...) applies
                values[attr.field] = attr.load(raw)
        return self.record(**values)
