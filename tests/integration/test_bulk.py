"""The bulk loader leaves the stored state that creating each record through the repos leaves.

One generated data set goes into tenant ``acme`` with ``dal.bulk.load`` and into
``globex`` record by record with ``Repo.create``; the two tenants must then hold
the same items (tenant parts of keys aside), read the same and refuse the same
deletes.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aioboto3
import pytest
import pytest_asyncio

from dal.derived import series
from dal.dynamodb.client import Dynamo
from dal.dynamodb.items import Item, deserialize
from dal.dynamodb.tables import AGGREGATES, ARCHIVE, CHANGES, KEY, SORT, TABLES, TENANT_TABLES
from dal.errors import AlreadyExists, HasDependents, MissingReference, Throttled
from dal.loading import bulk
from dal.models import (
    Activity,
    ActivityType,
    Contact,
    Customer,
    Entity,
    Opportunity,
    OpportunityStage,
    Record,
    Role,
    User,
)
from dal.records.activity_query import ActivityQuery
from dal.records.repo import Repo
from dal.store import Repos, Store
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt
from services import Services
from settings import Settings
from tests.conftest import PREFIX, Settle
from tests.http_hop import JSON, QuietServer, forward, read_body, reply

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
OWNERS = ("u-1", "u-2", "u-3")
# No word of a name is a tenant id: a search term's sort key starts with a word.
HEADS = ("Hooli", "Wayne", "Initech", "Umbrella")
TAILS = ("Corp", "Labs", "Hooli", "Trading Partners")
RECORD_TABLES = {t.entity for t in TABLES.values()}
SERIES = [
    ("acquisition",),
    ("sales",),
    ("leads",),
    ("activity",),
    *((kind, owner) for kind in ("pipeline", "forecast") for owner in (series.ALL, series.NONE)),
    *((kind, series.owner(o)) for kind in ("pipeline", "forecast") for o in OWNERS),
]


def _at(rng: random.Random, low_days: int, high_days: int) -> datetime:
    """A whole-second moment between ``low_days`` and ``high_days`` from NOW."""
    return NOW + timedelta(seconds=rng.randint(low_days * 86400, high_days * 86400))


def dataset(seed: int = 5) -> list[Record]:
    """Users, customers, contacts, opportunities and activities, parents first.

    Covers: every stage and type; owners and none; a zero-value deal and
    probabilities that give fractional weights; deals without a close date;
    unscheduled notes; open, completed and future activities; a customer with
    no dependents; names with a repeated word and of a single word."""
    rng = random.Random(seed)
    joined = NOW - timedelta(days=800)
    out: list[Record] = [
        User(id=u, created_at=joined, updated_at=joined, username=u, email=f"{u}@example.com",
             role=Role.SALES_REP)
        for u in OWNERS
    ]  # fmt: skip
    customers = []
    for i in range(8):
        created = _at(rng, -700, -10)
        name = {0: "Hooli Hooli Labs", 1: "Solo"}.get(i, f"{rng.choice(HEADS)} {rng.choice(TAILS)}")
        customers.append(
            Customer(id=f"cus_{i}", created_at=created, updated_at=created, company_name=name,
                     industry=rng.choice((None, "Software", "Retail")),
                     owner_id=rng.choice((None, *OWNERS)))
        )  # fmt: skip
    parents = customers[:-1]  # the last customer has no dependents at all
    contacts = [
        Contact(id=f"con_{i}-{j}", created_at=c.created_at, updated_at=c.created_at,
                customer_id=c.id, first_name=f"F{j}", last_name=f"L{i}")
        for i, c in enumerate(parents)
        for j in range(2)
    ]  # fmt: skip
    deals = []
    for n in range(24):
        stage = tuple(OpportunityStage)[n % 6]
        owner = parents[n % len(parents)]
        mine = [c for c in contacts if c.customer_id == owner.id]
        created = _at(rng, -700, -1)
        deals.append(
            Opportunity(
                id=f"opp_{n}", created_at=created, updated_at=created, customer_id=owner.id,
                title=f"Deal {n}",
                value=Decimal(0) if n == 0 else Decimal(rng.randint(1, 5_000_000)).scaleb(-2),
                stage=stage, probability=rng.choice((0, 10, 33, 75, 100)),
                contact_id=rng.choice((None, *(c.id for c in mine))),
                expected_close_date=None if n % 5 == 0 else _at(rng, -60, 200).date(),
                closed_at=_at(rng, -90, -1) if stage.closed else None,
                owner_id=rng.choice((None, *OWNERS)),
            )
        )  # fmt: skip
    targets: list[tuple[Entity, Record]] = [(Entity.CUSTOMER, c) for c in parents]
    targets += [(Entity.CONTACT, c) for c in contacts[::3]]
    targets += [(Entity.OPPORTUNITY, o) for o in deals[::2]]
    activities = []
    for n in range(60):
        kind = tuple(ActivityType)[n % 5]
        entity, target = rng.choice(targets)
        scheduled = None if kind is ActivityType.NOTE and n % 2 else _at(rng, -60, 30)
        completed = None
        if scheduled is not None and scheduled < NOW and rng.random() < 0.6:
            completed = scheduled + timedelta(minutes=rng.randint(5, 90))
        created = _at(rng, -120, -61)
        activities.append(
            Activity(id=f"act_{n}", created_at=created, updated_at=created, related_id=target.id,
                     related_type=entity, type=kind, subject=f"{kind.value} {n}",
                     scheduled_at=scheduled, completed_at=completed,
                     owner_id=rng.choice((None, *OWNERS)))
        )  # fmt: skip
    return [*out, *customers, *contacts, *deals, *activities]


def repo_of(repos: Repos, rec: Record) -> Repo[Any]:
    found: Repo[Any]
    if isinstance(rec, User):
        found = repos.users
    elif isinstance(rec, Customer):
        found = repos.customers
    elif isinstance(rec, Contact):
        found = repos.contacts
    elif isinstance(rec, Opportunity):
        found = repos.opportunities
    else:
        found = repos.activities
    return found


async def both_tenants(
    acme: Repos, globex: Repos, settle: Settle
) -> tuple[Repos, Repos, list[Record]]:
    """The data set bulk-loaded into acme and created record by record in globex, and
    what both derive applied by the stream consumer."""
    records = dataset()
    await bulk.load(acme, records)
    for rec in records:  # parents first, one at a time: as an application would
        await repo_of(globex, rec).create(rec)
    await settle()
    return acme, globex, records


def _strip(name: str, value: Any, tenant: str) -> Any:
    """A key value without its tenant part (keys: ``pk`` and the ``...Key`` index keys)."""
    keyed = name == KEY or name.endswith("Key")
    if keyed and isinstance(value, str) and value.startswith(f"{tenant}#"):
        return value[len(tenant) + 1 :]
    return value


@pytest_asyncio.fixture
async def inspector(dynamodb_endpoint: str) -> AsyncIterator[DynamoDBClient]:
    """A client of the test's own for reading whole tables (Scans), so the suite's
    no-Scan check keeps watching only the application's client."""
    session = aioboto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    async with session.client("dynamodb", endpoint_url=dynamodb_endpoint) as client:
        yield client


def _unsharded(items: list[Item]) -> list[Item]:
    """Aggregate items with the shards of each bucket summed: which shard a write
    added to is chance (series.py), what a bucket holds is not."""
    buckets: dict[tuple[str, str], Item] = {}
    for item in items:
        key = (str(item[KEY]), series.unsharded(str(item[SORT])))
        bucket = buckets.setdefault(key, {KEY: key[0], SORT: key[1]})
        for attr, value in item.items():
            if isinstance(value, Decimal):
                bucket[attr] = bucket.get(attr, Decimal(0)) + value
    return list(buckets.values())


def _keyless(scope: TenantScope, item: Item) -> Item:
    """A record without its key (checked: the key of its id), or a refs item marked
    as such (its key, a digest in the pool model, names no id to check)."""
    if "#refs#" in str(item[KEY]):
        return {k: v for k, v in item.items() if k != KEY} | {"refs": True}
    assert item[KEY] == scope.pk(str(item["id"])), item
    return {k: v for k, v in item.items() if k != KEY}


def _timeless(item: Item) -> Item:
    kept = {k: v for k, v in item.items() if k not in ("deletedAt", "expiresAt")}
    return kept | {SORT: str(item[SORT]).rsplit("#", 1)[0]}


async def stored(client: DynamoDBClient, repos: Repos) -> dict[str, list[Item]]:
    """Every item of the tenant, per table: tenant parts of key values stripped,
    ``tenantId`` dropped, and a record's ``pk`` (a digest in the pool model) checked
    then dropped; sorted, so two tenants' states compare with ``==``."""
    scope, out = repos.scope, {}
    # The change log is not the bulk path's: a bulk load is an initial load (README,
    # "Mobile sync"), read by a device's full sync, not its deltas.
    for table in (t for t in TENANT_TABLES if t is not CHANGES):
        items = []
        paginator = client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=scope.table(table.entity),
            FilterExpression="#t = :t",
            ExpressionAttributeNames={"#t": "tenantId"},
            ExpressionAttributeValues={":t": {"S": scope.tenant_id}},
        )
        async for page in pages:
            items += [deserialize(raw) for raw in page.get("Items", [])]
        if table.entity in RECORD_TABLES:
            items = [_keyless(scope, i) for i in items]
        if table is AGGREGATES:
            items = _unsharded(items)
        if table is ARCHIVE:  # the copies are the same but for when each delete ran
            items = [_timeless(i) for i in items]
        items = [
            {k: _strip(k, v, scope.tenant_id) for k, v in i.items() if k != "tenantId"}
            for i in items
        ]
        # By content, attribute order aside (DynamoDB keeps none).
        out[table.entity] = sorted(items, key=lambda i: sorted((k, str(v)) for k, v in i.items()))
    return out


@pytest.mark.isolation
async def test_bulk_load_stores_the_items_that_creating_each_record_stores(
    inspector: DynamoDBClient, repos: Repos, neighbour: Repos, settle: Settle
) -> None:
    acme, globex, _ = await both_tenants(repos, neighbour, settle)
    loaded, created = await stored(inspector, acme), await stored(inspector, globex)
    assert loaded == created
    # Not vacuous: every kind of derived item is there, and refCounts too.
    assert len([i for i in loaded["Customers"] if "id" in i]) == 8
    assert len(loaded["Activities"]) == 60
    assert {str(i["pk"]).split("#")[0] for i in loaded["Aggregates"]} >= {
        "pipeline", "forecast", "sales", "leads", "acquisition", "activity"
    }  # fmt: skip
    refs = {t: [i for i in loaded[t] if i.get("refs")] for t in ("Customers", "Contacts")}
    assert len(refs["Customers"]) == 8 * 4  # four per customer, the unreferenced cus_7 too
    assert min(i["refCount"] for i in refs["Customers"]) == 0  # cus_7
    assert max(i["refCount"] for i in refs["Customers"]) > 1
    assert any(i["refCount"] for i in refs["Contacts"])
    assert all("customerId" in i for i in refs["Contacts"])
    assert len(loaded["SearchTerms"]) > 8


async def test_bulk_load_summary_counts_what_it_wrote(
    inspector: DynamoDBClient, repos: Repos
) -> None:
    acme = repos
    summary = await bulk.load(acme, dataset(), concurrency=2)
    state = await stored(inspector, acme)
    assert summary.records == len(dataset())
    assert summary.items == {acme.scope.table(t): len(items) for t, items in state.items() if items}
    assert summary.requests == -(-summary.total_items // bulk.BATCH_WRITE_MAX)
    assert summary.retries == 0


async def _series(repos: Repos, name: tuple[str, ...]) -> dict[str, dict[str, Decimal]]:
    return await repos.aggregates.buckets(repos.scope.key(*name))


async def test_reports_searches_and_lists_read_the_same_after_a_bulk_load(
    repos: Repos, neighbour: Repos, settle: Settle
) -> None:
    acme, globex, records = await both_tenants(repos, neighbour, settle)
    for name in SERIES:
        assert await _series(acme, name) == await _series(globex, name), name
    assert await acme.aggregates.pipeline()

    def ids(page: Any) -> list[str]:
        return [r.id for r in page.items]

    for prefix in ("hoo", "hooli hooli", "solo", "trad", "zzz"):
        assert ids(await acme.customers.search(prefix, 50)) == ids(
            await globex.customers.search(prefix, 50)
        )
    assert ids(await acme.customers.search("hooli", 50))
    assert ids(await acme.customers.find(50, industry="software")) == ids(
        await globex.customers.find(50, industry="software")
    )
    for stage in OpportunityStage:
        a_page = await acme.opportunities.find(50, stage=stage)
        assert a_page.items == (await globex.opportunities.find(50, stage=stage)).items
        assert a_page.items
    now = dump_dt(NOW)
    overdue = ActivityQuery(overdue=True)
    assert ids(await acme.activities.find(overdue, now, 100)) == ids(
        await globex.activities.find(overdue, now, 100)
    )
    assert await acme.activities.overdue_of(OWNERS, now) == (
        await globex.activities.overdue_of(OWNERS, now)
    )
    done = ActivityQuery(completed_since=dump_dt(NOW - timedelta(days=30)))
    assert ids(await acme.activities.find(done, now, 50)) == ids(
        await globex.activities.find(done, now, 50)
    )
    # Records read back as created (version 1), whatever version was given.
    by_id = {(type(r), r.id): r for r in records}
    cus = await acme.customers.get_many([r.id for t, r in by_id.items() if t[0] is Customer])
    assert all(c is not None and c == by_id[(Customer, c.id)] for c in cus)


async def test_refcounts_of_a_bulk_load_block_and_release_deletes_as_creates_do(
    inspector: DynamoDBClient, repos: Repos, neighbour: Repos, settle: Settle
) -> None:
    acme, globex, records = await both_tenants(repos, neighbour, settle)
    referenced = [r for r in records if isinstance(r, Customer | Contact | Opportunity)]
    deleted, blocked = set(), 0
    for rec in referenced:
        outcomes = []
        for repos in (acme, globex):
            try:
                await repo_of(repos, rec).delete(rec.id)
                outcomes.append(0)
            except HasDependents as exc:
                outcomes.append(exc.count)
        assert outcomes[0] == outcomes[1], rec.id
        blocked += outcomes[0] > 0
        if not outcomes[0]:
            deleted.add(rec.id)
    assert blocked > 10
    # Dependents gone, every parent goes; derived counters drop back as after creates.
    for repos in (acme, globex):
        for each in reversed(records):
            if not isinstance(each, User) and each.id not in deleted:
                await repo_of(repos, each).delete(each.id)
    await settle()
    for name in SERIES:
        loaded = await _series(acme, name)
        assert loaded == await _series(globex, name), name
        assert all(v == 0 for row in loaded.values() for v in row.values())
    assert await stored(inspector, acme) == await stored(inspector, globex)


async def test_a_dangling_reference_or_a_repeated_id_is_refused_before_any_write(
    inspector: DynamoDBClient, repos: Repos
) -> None:
    acme = repos
    records = dataset()
    orphan = next(r for r in records if isinstance(r, Contact))
    without_parent = [r for r in records if r.id != orphan.customer_id]
    with pytest.raises(MissingReference) as error:
        await bulk.load(acme, without_parent)
    assert error.value.field == "customerId"
    with pytest.raises(AlreadyExists):
        await bulk.load(acme, [*records, records[5]])
    assert not any((await stored(inspector, acme)).values())


# -- UnprocessedItems: a real proxy in front of DynamoDB Local, which never leaves any --


class UnprocessingWrites:
    """Forwards every request to DynamoDB Local; while ``hold`` lasts (always when None), a
    BatchWriteItem goes upstream with every other item only, and the rest come back
    as ``UnprocessedItems``, as DynamoDB answers when a batch exceeds capacity."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.hold: int | None = 0
        self.items_sent: list[int] = []  # items in each BatchWriteItem, in order
        self.lock = threading.Lock()
        self.server = QuietServer(("127.0.0.1", 0), _ProxyHandler)
        self.server.proxy = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,))
        host, port = self.server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def split(self, body: bytes) -> tuple[bytes, dict[str, Any] | None]:
        """The body to forward, and the items to report unprocessed (None: none)."""
        asked: dict[str, list[Any]] = json.loads(body)["RequestItems"]
        with self.lock:
            self.items_sent.append(sum(len(v) for v in asked.values()))
            if self.hold is not None and self.hold <= 0:
                return body, None
            if self.hold is not None:
                self.hold -= 1
        kept = {t: v[1::2] for t, v in asked.items() if v[1::2]}
        held = {t: v[0::2] for t, v in asked.items() if v[0::2]}
        return json.dumps({"RequestItems": kept}).encode(), held


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        proxy: UnprocessingWrites = self.server.proxy  # type: ignore[attr-defined]
        body, held = read_body(self), None
        if self.headers.get("X-Amz-Target", "").endswith(".BatchWriteItem"):
            body, held = proxy.split(body)
        status, answer = 200, b'{"UnprocessedItems": {}}'
        if body != b'{"RequestItems": {}}':  # every item held: DynamoDB wrote none
            status, _, answer = forward(proxy.upstream, self, body)
        if held is not None and status == 200:
            answer = json.dumps({**json.loads(answer), "UnprocessedItems": held}).encode()
        reply(self, status, JSON, answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the proxy's counters."""


@pytest.fixture
def proxy(dynamodb_endpoint: str) -> Iterator[UnprocessingWrites]:
    running = UnprocessingWrites(dynamodb_endpoint)
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()
    running.thread.join()


@pytest_asyncio.fixture
async def proxied(
    repos: Repos, proxy: UnprocessingWrites, settings: Settings
) -> AsyncIterator[Repos]:
    """acme's repositories, talking to DynamoDB Local through the proxy."""
    session = aioboto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    async with session.client("dynamodb", endpoint_url=proxy.url) as client:
        store = Store(Dynamo(client), table_prefix=PREFIX, cursor_secret=settings.cursor_secret())
        yield store.for_tenant(repos.scope.tenant_id, repos.scope.model)


async def test_unprocessed_items_are_sent_again_until_every_item_is_written(
    proxy: UnprocessingWrites,
    proxied: Repos,
    inspector: DynamoDBClient,
    repos: Repos,
    neighbour: Repos,
) -> None:
    records = dataset()
    proxy.hold = 2
    summary = await bulk.load(proxied, records, concurrency=1, backoff=0.001)
    # The first batch comes back half unprocessed twice: 25 items, then 13, then 7.
    assert proxy.items_sent[:3] == [25, 13, 7]
    assert (summary.retries, summary.requests) == (2, len(proxy.items_sent))
    globex = neighbour
    await bulk.load(globex, records)
    acme = repos
    assert await stored(inspector, acme) == await stored(inspector, globex)


async def test_items_never_processed_raise_throttled_after_the_attempts(
    db: Services, proxy: UnprocessingWrites, proxied: Repos
) -> None:
    proxy.hold = None
    with pytest.raises(Throttled):
        await bulk.load(proxied, dataset()[:3], concurrency=1, attempts=3, backoff=0.001)
    assert proxy.items_sent == [3, 2, 1]
