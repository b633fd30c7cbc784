"""Three devices edit offline, push (with replays and duplicated batches, in random
order and concurrently) and pull; afterwards every device holds the server's
state, no acknowledged write is lost, and every conflict reached its device.
Run once per conflict strategy."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.test_sync import PUSH, SYNC
from tests.conftest import Gql, Settle

CREATE = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"
FIELDS = {
    "industry": ["Retail", "Software", "Energy", "Health"],
    "tier": ["FREE", "STANDARD", "PREMIUM", "ENTERPRISE"],
    "companyName": ["North", "South", "East", "West"],
}
START = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass
class Device:
    name: str
    gql: Gql
    settle: Settle  # what was pushed before a pull is numbered in the log first
    local: dict[str, dict[str, Any]] = field(default_factory=dict)
    cursor: str | None = None
    queue: dict[str, dict[str, Any]] = field(default_factory=dict)  # by record: coalesced
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def pull(self) -> None:
        await self.settle()
        while True:
            body = await self.gql(SYNC, {"since": self.cursor, "first": 3})
            assert "errors" not in body, body
            page = body["data"]["sync"]
            for change in page["changes"]:  # in order: the last word on a record wins
                if change["entity"] != "CUSTOMER":
                    continue
                if change["op"] == "DELETE":
                    self.local.pop(change["id"], None)
                else:
                    self.local[change["id"]] = change["record"]
            self.cursor = page["cursor"]
            if not page["hasMore"]:
                return

    def edit(self, rng: random.Random, n: int) -> None:
        """One offline edit, coalesced into the queue as an outbox does."""
        existing = [i for i in self.local if i not in self.queue or self.queue[i]["op"] != "DELETE"]
        roll = rng.random()
        made = (START + timedelta(seconds=rng.uniform(0, 3600))).isoformat()
        if roll < 0.2 or not existing:
            id = f"cus_{self.name}n{n}"
            self.queue[id] = _mutation(f"{self.name}-{n}", id, "UPSERT", None, made)
            self.queue[id]["changes"] = {"companyName": f"{self.name} {n}"}
            return
        id = rng.choice(existing)
        base = self.local[id]["version"]
        if roll < 0.3 and id not in self.queue:
            self.queue[id] = _mutation(f"{self.name}-{n}", id, "DELETE", base, made)
            return
        queued = self.queue.setdefault(id, _mutation(f"{self.name}-{n}", id, "UPSERT", base, made))
        for name in rng.sample(sorted(FIELDS), rng.randint(1, 2)):
            queued["changes"][name] = rng.choice(FIELDS[name])
        queued["changedAt"] = made

    async def push(self, rng: random.Random, strategy: str) -> None:
        mutations = list(self.queue.values())
        batches = _split(rng, mutations)
        for batch in batches:
            first = await self._send(batch, strategy)
            again = await self._send(rng.sample(batch, len(batch)), strategy)  # a replay
            for r in again.values():
                assert r["replayed"], r
                assert {**r, "replayed": False} == first[r["clientMutationId"]]
        self.queue.clear()

    async def _send(self, batch: list[dict[str, Any]], strategy: str) -> dict[str, dict[str, Any]]:
        variables = {"input": {"clientId": self.name, "mutations": batch, "strategy": strategy}}
        body = await self.gql(PUSH, variables)
        assert "errors" not in body, body
        out = {r["clientMutationId"]: r for r in body["data"]["syncPush"]["results"]}
        for m in batch:
            self.sent[m["clientMutationId"]] = m
            self.results.setdefault(m["clientMutationId"], out[m["clientMutationId"]])
        return out


def _mutation(mid: str, id: str, op: str, base: int | None, made: str) -> dict[str, Any]:
    return {"clientMutationId": mid, "entity": "CUSTOMER", "op": op, "id": id,
            "baseVersion": base, "changes": {}, "changedAt": made}  # fmt: skip


def _split(rng: random.Random, items: list[Any]) -> list[list[Any]]:
    out, rest = [], list(items)
    while rest:
        cut = rng.randint(1, len(rest))
        out.append(rest[:cut])
        rest = rest[cut:]
    return out


@pytest.mark.parametrize("strategy", ["OPTIMISTIC", "AUTOMERGE", "LAST_WRITER_WINS"])
async def test_devices_converge_and_lose_nothing(gql: Gql, settle: Settle, strategy: str) -> None:
    rng = random.Random(f"devices-{strategy}")
    for n in range(4):
        assert "errors" not in await gql(
            CREATE, {"input": {"id": f"cus_seed{n}", "companyName": f"Seed {n}"}}
        )
    devices = [Device(name, gql, settle) for name in ("ios", "android", "web")]
    for _ in range(2):  # two rounds: offline edits, pushes, pulls
        for d in devices:
            await d.pull()
            for _ in range(rng.randint(3, 7)):
                d.edit(rng, rng.randint(0, 10**6))
        order = rng.sample(devices, len(devices))
        await asyncio.gather(*(d.push(random.Random(rng.random()), strategy) for d in order))
    for d in devices:
        await d.pull()
    server = Device("fresh", gql, settle)
    await server.pull()
    for d in devices:
        assert d.local == server.local, f"{d.name} did not converge"
    _nothing_acknowledged_lost(devices, server.local)
    _every_conflict_reported(devices)


def _nothing_acknowledged_lost(devices: list[Device], final: dict[str, dict[str, Any]]) -> None:
    """Each field's final value is the one its last acknowledged write (by version) set;
    a record gone was deleted by an acknowledged DELETE."""
    acked: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for d in devices:
        for mid, r in d.results.items():
            if r["outcome"] in ("APPLIED", "MERGED") and r["version"] is not None:
                m = d.sent[mid]
                kept = {k: v for k, v in m["changes"].items() if k not in r["conflicts"]}
                acked.setdefault(m["id"], []).append((r["version"], m["op"], kept))
    for id, writes in acked.items():
        if id not in final:
            assert any(op == "DELETE" for _, op, _ in writes), f"{id} vanished"
            continue
        last: dict[str, tuple[int, Any]] = {}
        for version, _, kept in sorted(writes, key=lambda w: w[0]):
            last |= {k: (version, v) for k, v in kept.items()}
        for name, (_, value) in last.items():
            assert final[id].get(name) == value, (id, name, value, final[id])


def _every_conflict_reported(devices: list[Device]) -> None:
    """What a device sent and did not get is named in its result."""
    outcomes = set()
    for d in devices:
        for mid, r in d.results.items():
            m = d.sent[mid]
            outcomes.add(r["outcome"])
            assert r["outcome"] != "REJECTED", f"{r} {m}"
            if r["outcome"] == "CONFLICT" and m["op"] == "UPSERT" and r["record"] is not None:
                assert r["conflicts"], r
            if r["outcome"] in ("APPLIED", "MERGED") and m["op"] == "UPSERT":
                for name, value in m["changes"].items():
                    assert r["record"][name] == value or name in r["conflicts"], (r, name)
    assert "CONFLICT" in outcomes or "MERGED" in outcomes, "the devices never collided"
