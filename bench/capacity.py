"""Consumed capacity per operation, captured on the application's DynamoDB client.

Two botocore hooks, nothing changed in the DAL: ``provide-client-params`` asks every
operation that accepts it for ``ReturnConsumedCapacity=INDEXES``, and ``after-call``
adds up the ``ConsumedCapacity`` of each response (a dict, or a list of dicts for
the batch and transaction calls), per table and per index, read and write apart.
Where a response splits units into ``ReadCapacityUnits``/``WriteCapacityUnits``
(real DynamoDB does for some) those are used; otherwise (DynamoDB Local reports
``CapacityUnits`` only) the operation says which kind they are.

DynamoDB Local (3.3.0) under-reports TransactWriteItems: items of one table whose
unit figures are equal are counted once (five small Puts to one table: 2 units,
not 10). So the items of each transaction are counted per table from the request,
and ``floor`` adds what is missing for every item to cost at least 2 units, as each
transactional write of up to 1 KB does. On real DynamoDB the floor adds nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
ASK, TX, ITEMS = "ReturnConsumedCapacity", "TransactWriteItems", "bench.items"
PER_TX_ITEM = 2.0  # WCU of a transactional write of up to 1 KB
T = TypeVar("T")


@dataclass
class Units:
    read: float = 0.0
    write: float = 0.0

    def add(self, other: Units) -> None:
        self.read += other.read
        self.write += other.write


@dataclass
class Usage:
    """What one GraphQL operation cost: calls by operation, units by table and by index."""

    calls: Counter[str] = field(default_factory=Counter)
    tables: dict[str, Units] = field(default_factory=dict)  # the table itself
    indexes: dict[str, Units] = field(default_factory=dict)  # "Table.index"
    items: Counter[str] = field(default_factory=Counter)  # transactional write items per table
    floor: float = 0.0  # write units DynamoDB Local left out of transactions (see above)

    @property
    def requests(self) -> int:
        return sum(self.calls.values())

    def total(self, kind: str, where: str = "all") -> float:
        groups = {"table": [self.tables], "gsi": [self.indexes]}.get(where)
        units = (u for g in groups or [self.tables, self.indexes] for u in g.values())
        return float(sum(getattr(u, kind) for u in units))

    def breakdown(self, kind: str) -> str:
        """``Table:units Table.index:units ...``, tables A-Z, each followed by its indexes;
        ``[xN]``: N items of that table written in a transaction."""
        units = {**self.tables, **self.indexes}
        names = sorted(units, key=lambda n: (n.split(".")[0], "." in n, n))
        cells = []
        for n in (n for n in names if getattr(units[n], kind)):
            many = f"[x{self.items[n]}]" if kind == "write" and self.items[n] > 1 else ""
            cells.append(f"{n}:{_n(getattr(units[n], kind))}{many}")
        return " ".join(cells)

    def as_json(self) -> dict[str, Any]:
        figures = {f"{k}{s}": self.total(k, w) for k in ("write", "read")
                   for s, w in (("", "all"), ("_table", "table"), ("_gsi", "gsi"))}  # fmt: skip
        spread = {k: {n: vars(u) for n, u in sorted(v.items())}
                  for k, v in (("tables", self.tables), ("indexes", self.indexes))}  # fmt: skip
        calls, items = dict(sorted(self.calls.items())), dict(sorted(self.items.items()))
        floor = {"write_floor": self.total("write") + self.floor, "tx_items": items}
        return {"requests": self.requests, "calls": calls} | figures | floor | spread


Row = tuple[str, Usage]


def _n(units: float) -> str:
    return f"{units:g}"


def _units(detail: Mapping[str, Any], operation: str) -> Units:
    read, write = detail.get("ReadCapacityUnits"), detail.get("WriteCapacityUnits")
    if read is None and write is None:
        total = float(detail.get("CapacityUnits", 0.0))
        return Units(read=total) if operation in READS else Units(write=total)
    return Units(float(read or 0.0), float(write or 0.0))


def _accepts(model: Any) -> bool:
    shape = model.input_shape
    return shape is not None and ASK in shape.members


class CapacityMeter:
    """Registers the hooks on ``client``; ``take()`` returns the usage since the last take.

    Responses that touch only ``skip_tables`` (the tenant registry, read once a minute
    by whichever request finds its cache stale) are counted in ``skipped`` instead.
    """

    def __init__(self, client: DynamoDBClient, prefix: str, skip_tables: tuple[str, ...]) -> None:
        self.prefix, self.skip = prefix, {prefix + t for t in skip_tables}
        self.usage, self.skipped, self.unreported = Usage(), 0, 0
        client.meta.events.register("provide-client-params.dynamodb", self._ask)
        client.meta.events.register("after-call.dynamodb", self._collect)

    def _ask(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not _accepts(model):
            return  # DescribeTable, ListTables, ...
        params[ASK] = "INDEXES"
        if model.name == TX:
            ops = (next(iter(op.values())) for op in params.get("TransactItems", []))
            context[ITEMS] = Counter(self._name(op["TableName"]) for op in ops)

    def _collect(
        self, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if not _accepts(model):
            return
        raw = parsed.get("ConsumedCapacity")
        entries = [raw] if isinstance(raw, dict) else list(raw or [])
        if entries and all(e.get("TableName") in self.skip for e in entries):
            self.skipped += 1
            return
        self.usage.calls[model.name] += 1
        if not entries and "Error" in parsed:
            self.unreported += 1  # a refused call: DynamoDB Local reports no units with it
        items: Counter[str] = context.get(ITEMS, Counter())
        self.usage.items.update(items)
        for entry in entries:
            table = self._add(entry, model.name)
            reported = _units(entry.get("Table", entry), model.name).write
            self.usage.floor += max(0.0, PER_TX_ITEM * items[table] - reported)

    def _name(self, table: str) -> str:
        return table.removeprefix(self.prefix)

    def _add(self, entry: Mapping[str, Any], operation: str) -> str:
        table = self._name(str(entry.get("TableName", "?")))
        self.usage.tables.setdefault(table, Units()).add(
            _units(entry.get("Table", entry), operation)
        )
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for name, detail in (entry.get(kind) or {}).items():
                key = f"{table}.{name}"
                self.usage.indexes.setdefault(key, Units()).add(_units(detail, operation))
        return table

    def take(self) -> Usage:
        usage, self.usage = self.usage, Usage()
        return usage


class Recorder:
    """Files the usage of each operation, run one at a time, under its section."""

    def __init__(self, meter: CapacityMeter, sections: tuple[str, ...]) -> None:
        self.meter = meter
        self.rows: dict[str, list[Row]] = {s: [] for s in sections}

    async def record(self, section: str, label: str, operation: Awaitable[T]) -> T:
        self.meter.take()  # whatever came before is not this operation's
        result = await operation
        self.rows[section].append((label, self.meter.take()))
        return result


# -- output ---------------------------------------------------------------------------------

NOTE = """\
WCU* = WCU with every item of a TransactWriteItems counted at 2 units at least: DynamoDB
Local counts the items of one table whose figures are equal once ([xN]: N items written).
Not counted: {skipped} tenant-registry lookups (a per-process cache refreshing) and
{refused} refused calls (no units reported)."""

HEAD = (f"{'operation':<44} {'req':>3} {'WCU':>5} {'table':>5} {'GSIs':>5} {'WCU*':>5} "
        f"{'RCU':>5} {'table':>5} {'GSIs':>5}  ")  # fmt: skip


def table(title: str, rows: list[Row], kind: str) -> str:
    """A fixed-width table; the last column spreads the write (or read) units by name."""
    head = HEAD + f"{'WCU' if kind == 'write' else 'RCU'} by table and index (name:units)"
    lines = [f"\n== {title} ==", head, "-" * len(head)]
    for label, u in rows:
        w = [u.total("write", s) for s in ("all", "table", "gsi")] + [u.total("write") + u.floor]
        figures = w + [u.total("read", s) for s in ("all", "table", "gsi")]
        cells = " ".join(f"{f:>5.1f}" for f in figures)
        lines.append(f"{label:<44} {u.requests:>3} {cells}  {u.breakdown(kind)}")
    return "\n".join(lines)


def totals(sections: Mapping[str, list[Row]]) -> dict[str, float]:
    usages = [u for rows in sections.values() for _, u in rows]
    return {
        "operations": len(usages),
        "requests": sum(u.requests for u in usages),
        "write": sum(u.total("write") for u in usages),
        "write_floor": sum(u.total("write") + u.floor for u in usages),
        "read": sum(u.total("read") for u in usages),
    }


def totals_line(sections: Mapping[str, list[Row]]) -> str:
    t = totals(sections)
    return (f"\nTOTAL {t['operations']:.0f} operations: {t['requests']:.0f} requests, "
            f"{t['write']:.1f} WCU ({t['write_floor']:.1f} WCU*), {t['read']:.1f} RCU")  # fmt: skip


def write_json(path: Path, meta: dict[str, Any], sections: Mapping[str, list[Row]]) -> None:
    body = {
        "meta": meta,
        "sections": {s: [{"operation": label} | u.as_json() for label, u in rows]
                     for s, rows in sections.items()},
        "totals": totals(sections),
    }  # fmt: skip
    path.write_text(json.dumps(body, indent=2) + "\n")


def compare(path: Path, sections: Mapping[str, list[Row]]) -> str:
    """This run next to an earlier ``--json`` file, operation by operation."""
    before = json.loads(path.read_text())["sections"]
    head = f"{'operation':<44} {'req':>7} {'WCU':>11} {'WCU*':>11} {'RCU':>11}"
    lines = [f"\n== compared with {path} (before->now) ==", head, "-" * len(head)]
    for section, rows in sections.items():
        old = {r["operation"]: r for r in before.get(section, [])}
        for label, u in rows:
            o = old.get(label, {})
            now = (u.requests, u.total("write"), u.total("write") + u.floor, u.total("read"))
            keys = ("requests", "write", "write_floor", "read")
            cells = [
                f"{_n(o[k]) if k in o else '-'}->{_n(v)}" for k, v in zip(keys, now, strict=True)
            ]
            lines.append(f"{label:<44} {cells[0]:>7} {cells[1]:>11} {cells[2]:>11} {cells[3]:>11}")
    return "\n".join(lines)
