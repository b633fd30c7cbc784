"""Rows of import and export files: CSV or JSON lines, columns named as the API's fields.

An export writes every field of the record (``Codec.public``); an import reads
the fields the create and update inputs take (an empty cell is null:
on a create, not given, so the default applies), and ignores the ones the server
keeps (``createdAt``, ``updatedAt``, ``version`` and what is derived: a deal's
``closedAt``, an activity's ``relatedType``), so an export imports back as it is.
Any other column refuses the whole file, naming it: a typo in a header must not
silently drop a column of data.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dal.models import Entity
from jobs.cells import Lines, TooDeep, defused, restored, shallow
from jobs.run import JobError
from resolvers.validation import MAX_JSON_DEPTH

KEPT = frozenset({"createdAt", "updatedAt", "version", "closedAt", "relatedType"})


@dataclass(frozen=True, slots=True)
class Spec:
    entity: Entity
    create: tuple[str, ...]  # CreateXInput's fields (besides id)
    update: tuple[str, ...]  # UpdateXInput's fields
    json: frozenset[str] = frozenset()
    ints: frozenset[str] = frozenset()
    money: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        known = ("id", *dict.fromkeys((*self.create, *self.update)))
        object.__setattr__(self, "columns", known)

    @property
    def fixed(self) -> tuple[str, ...]:
        """Fields set at creation that no update may change (a contact's customer)."""
        return tuple(f for f in self.create if f not in self.update)

    @property
    def later(self) -> tuple[str, ...]:
        """Fields only an update takes (a contact's lastContactedAt)."""
        return tuple(f for f in self.update if f not in self.create)


SPECS = {
    Entity.CUSTOMER: Spec(
        Entity.CUSTOMER,
        ("companyName", "industry", "tier", "contactInfo", "ownerId"),
        ("companyName", "industry", "tier", "contactInfo", "ownerId"),
        json=frozenset({"contactInfo"}),
    ),
    Entity.CONTACT: Spec(
        Entity.CONTACT,
        ("customerId", "firstName", "lastName", "email", "phone", "position", "details"),
        ("firstName", "lastName", "email", "phone", "position", "details", "lastContactedAt"),
        json=frozenset({"details"}),
        times=frozenset({"lastContactedAt"}),
    ),
    Entity.OPPORTUNITY: Spec(
        Entity.OPPORTUNITY,
        (
            "customerId",
            "contactId",
            "title",
            "value",
            "stage",
            "probability",
            "expectedCloseDate",
            "ownerId",
        ),
        ("contactId", "title", "value", "stage", "probability", "expectedCloseDate", "ownerId"),
        ints=frozenset({"probability"}),
        money=frozenset({"value"}),
    ),
    Entity.ACTIVITY: Spec(
        Entity.ACTIVITY,
        ("relatedId", "type", "subject", "description", "scheduledAt", "ownerId"),
        ("type", "subject", "description", "scheduledAt", "completedAt", "ownerId"),
        times=frozenset({"scheduledAt", "completedAt"}),
    ),
}


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # 1-based, the header not counted: what the error file names
    values: dict[str, Any]  # the known columns present in the row
    problem: str | None = None  # a cell that could not be read at all
    field: str | None = None  # the column of that cell


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one row (the import's tally and its rejected-rows file read it)."""

    row: Row
    done: str | None  # created, updated, unchanged (or "would be ..." in a dry run)
    field: str | None = None
    reason: str | None = None


def header_of(spec: Spec, columns: list[str]) -> list[str]:
    unknown = [c for c in columns if c not in spec.columns and c not in KEPT]
    if unknown:
        names = ", ".join(spec.columns)
        raise JobError(f"unknown column(s) {', '.join(unknown)}; the columns are: {names}")
    if len(set(columns)) != len(columns):
        raise JobError("a column is named twice in the header")
    return columns


def read(spec: Spec, body: bytes, fmt: str) -> Iterator[Row]:
    try:
        text = body.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError as exc:
        raise JobError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return _csv(spec, text) if fmt == "CSV" else _lines(spec, text)


def _csv(spec: Spec, text: str) -> Iterator[Row]:
    lines = Lines(text)
    reader = csv.reader(lines)
    try:
        header = header_of(spec, [c.strip() for c in next(reader)])
    except StopIteration:
        return
    except csv.Error as exc:
        raise JobError(f"the header cannot be read: {exc}") from exc
    for number in itertools.count(1):
        lines.taken.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # this row is refused, the next ones are read
            lines.skip_row()
            yield Row(number, {}, f"the row cannot be read: {exc}")
            continue
        if any(c.strip() for c in cells):  # a blank line (an editor's trailing newline): none
            yield _row(spec, number, header, cells)


def _row(spec: Spec, number: int, header: list[str], cells: list[str]) -> Row:
    if len(cells) != len(header):
        return Row(number, {}, f"{len(cells)} cells for {len(header)} columns")
    return _cells(spec, number, dict(zip(header, cells, strict=True)))


def _cells(spec: Spec, number: int, given: dict[str, str]) -> Row:
    values: dict[str, Any] = {}
    cells = {name: restored(cell) for name, cell in given.items()}
    for name, cell in cells.items():
        if name in KEPT:
            continue
        if name in spec.json and cell.strip():
            try:
                values[name] = json.loads(shallow(cell, MAX_JSON_DEPTH))
            except (TooDeep, ValueError) as exc:
                return Row(number, _raw(cells), _not_json(name, exc), name)
        elif name in spec.ints and cell:
            try:
                values[name] = int(cell)
            except ValueError:
                return Row(number, _raw(cells), f"{name} must be a whole number", name)
        else:
            values[name] = cell if cell else None  # "  " goes on: the check says "empty"
    return Row(number, values)


def _not_json(name: str, exc: Exception) -> str:
    if isinstance(exc, TooDeep):
        return f"{name} nests deeper than {MAX_JSON_DEPTH} levels"
    return f"{name} is not valid JSON"


def _raw(cells: dict[str, str]) -> dict[str, Any]:
    """A row that cannot be read, as given (the error file shows it to fix)."""
    return {k: v for k, v in cells.items() if k not in KEPT}


def _lines(spec: Spec, text: str) -> Iterator[Row]:
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        try:  # the record, then its fields: one level more than a field may have
            given = json.loads(shallow(line, MAX_JSON_DEPTH + 1))
        except TooDeep:
            yield Row(number, {}, f"the line nests deeper than {MAX_JSON_DEPTH + 1} levels")
            continue
        except ValueError:
            yield Row(number, {}, "the line is not valid JSON")
            continue
        if not isinstance(given, dict):
            yield Row(number, {}, "the line is not a JSON object")
            continue
        header_of(spec, list(given))
        yield Row(number, {k: v for k, v in given.items() if k not in KEPT})


def same(spec: Spec, name: str, given: Any, stored: Any) -> bool:
    """Whether a row's value is what is stored (then no write: a re-import of an
    export, or a resumed chunk, changes nothing)."""
    if given is None or stored is None:
        return given is None and stored is None
    try:
        if name in spec.money:
            return Decimal(str(given)) == Decimal(str(stored))
        if name in spec.times:
            return _instant(str(given)) == _instant(str(stored))
    except (InvalidOperation, ValueError):
        return False
    if isinstance(given, str) and isinstance(stored, str):
        return given.strip() == stored
    return bool(given == stored)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def write(spec: Spec, records: list[dict[str, Any]], fmt: str) -> bytes:
    """An export file: every field the API shows, in the order of the codec."""
    return heading(spec, fmt) + encoded(spec, records, fmt)


def heading(spec: Spec, fmt: str) -> bytes:
    """What an export file starts with: the CSV header (JSON lines have none)."""
    if fmt == "JSON":
        return b""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerow(exported_columns(spec))
    return out.getvalue().encode()


def encoded(spec: Spec, records: list[dict[str, Any]], fmt: str) -> bytes:
    """Records as the lines of an export file (a page of them: a file is streamed)."""
    if fmt == "JSON":
        return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
    out = io.StringIO(newline="")
    columns = exported_columns(spec)
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writerows(_flat(spec, r) for r in records)
    return out.getvalue().encode()


def exported_columns(spec: Spec) -> list[str]:
    return [*spec.columns, *sorted(KEPT & _SHOWN[spec.entity])]


_SHOWN = {
    Entity.CUSTOMER: {"createdAt", "updatedAt", "version"},
    Entity.CONTACT: {"createdAt", "updatedAt", "version"},
    Entity.OPPORTUNITY: {"createdAt", "updatedAt", "version", "closedAt"},
    Entity.ACTIVITY: {"createdAt", "updatedAt", "version", "relatedType"},
}


def _flat(spec: Spec, record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: defused(json.dumps(v) if k in spec.json and v is not None else v)
        for k, v in record.items()
    }
