"""Cross-tenant probes: tenant B tries every way into tenant A's data.

A probe is one (operation, target) pair: an operation that takes an id (a
query by id, an update or delete, an id-carrying input, a filter) sent by B
with an id of A's of the kind that operation takes (a customer query gets
A's customers, ``relatedId`` A's customers, contacts and opportunities), or
a paginated listing sent with A's cursor. B sends the same document twice:
once with A's value and once with a control, a value of the same kind that
exists nowhere (the record prefix and a random suffix, a random subject for
users, a tampered cursor of B's own). An id of the wrong kind would be
refused by its prefix before any read and prove nothing, so none is sent.

Five checks per probe: A's secret is absent from the answer, no id of A's
is in it, the answer equals the control's byte for byte once the probed
value is blanked out, it cost the same DynamoDB requests (the
deterministic stand-in for "the same timing class"), and in Redis it wrote
or changed no key of A's (A's hash tag) and no key outside a tenant's tag. B's cache is forgotten before each send,
so probe and control both start cold and cost the same. A write that reached
A's data would answer differently from its control, so equal answers also
prove that nothing of A changed.

PROBES_PER_MODEL probes per isolation model: one explicit probe per pair,
so every pair is probed under every model, and the rest drawn by
hypothesis (pair, control and payload). Each failed check counts as a leak
in ``tally`` (per model) before the probe asserts it had none; the run
prints probes, distinct pairs and leaks per model, and fails if a model's
probes missed a pair (tests/conftest.py). ``test_failed_checks_count_as_leaks``
shows that the checks fail, and count, on answers that differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from dal import ids
from dal.cache.client import Cache
from dal.cache.generations import FIELDS
from dal.models import (
    Activity,
    ActivityType,
    Contact,
    Customer,
    Document,
    DocumentKind,
    DocumentStatus,
    Entity,
    Opportunity,
    Role,
    User,
)
from dal.storage.names import ObjectKey
from dal.store import Repos
from dal.tenancy.scope import Model
from dal.timefmt import utcnow
from services import Services
from tests.conftest import Gql, Tenants
from tests.support import RequestLog

# One per (operation, target) pair, the rest drawn by hypothesis. 200, not 600: every
# pair is probed explicitly under every model either way, and the 600 cost ~100 s of
# a suite that must stay under 10 minutes.
PROBES_PER_MODEL = 200
SECRET = "Zq-secret-of-acme"  # in every name of A's records: must never reach B
SUFFIXES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40)
PAYLOAD = st.text(max_size=60)

# The kinds of id an operation takes in $id.
Takes = tuple[Entity, ...]
CUS: Takes = (Entity.CUSTOMER,)
CON: Takes = (Entity.CONTACT,)
OPP: Takes = (Entity.OPPORTUNITY,)
ACT: Takes = (Entity.ACTIVITY,)
USR: Takes = (Entity.USER,)
KEY: Takes = (Entity.DOCUMENT,)  # an object key of A's: targets "key:{document id}"
RELATED: Takes = CUS + CON + OPP  # what an activity is about

# fmt: off
BY_ID: dict[str, tuple[Takes, str]] = {
    "customer": (CUS, "query($id: ID!) { customer(id: $id) { id companyName } }"),
    "contact": (CON, "query($id: ID!) { contact(id: $id) { id firstName } }"),
    "opportunity": (OPP, "query($id: ID!) { opportunity(id: $id) { id title } }"),
    "activity": (ACT, "query($id: ID!) { activity(id: $id) { id subject } }"),
    "user": (USR, "query($id: ID!) { user(id: $id) { id username } }"),
    "customer.documents": (CUS, "query($id: ID!) { customer(id: $id) { id documents { id key name url } } }"),
    "activity.attachments": (ACT, "query($id: ID!) { activity(id: $id) { id attachments { id key name url } } }"),
}
WRITES: dict[str, tuple[Takes, str]] = {
    "updateCustomer": (CUS, "mutation($id: ID!, $s: String) { updateCustomer(id: $id, input: {industry: $s}) { id } }"),
    "deleteCustomer": (CUS, "mutation($id: ID!) { deleteCustomer(id: $id) }"),
    "updateContact": (CON, "mutation($id: ID!, $s: String) { updateContact(id: $id, input: {position: $s}) { id } }"),
    "deleteContact": (CON, "mutation($id: ID!) { deleteContact(id: $id) }"),
    "updateOpportunity": (OPP, "mutation($id: ID!, $s: String) { updateOpportunity(id: $id, input: {title: $s}) { id } }"),
    "deleteOpportunity": (OPP, "mutation($id: ID!) { deleteOpportunity(id: $id) }"),
    "updateActivity": (ACT, "mutation($id: ID!, $s: String) { updateActivity(id: $id, input: {description: $s}) { id } }"),
    "completeActivity": (ACT, "mutation($id: ID!) { completeActivity(id: $id) { id } }"),
    "deleteActivity": (ACT, "mutation($id: ID!) { deleteActivity(id: $id) }"),
    "confirmDocumentUpload": (KEY, 'mutation($id: String!) { confirmDocumentUpload(customerId: "cus_b", key: $id) { id url } }'),
    "confirmDocumentUpload.a": (KEY, 'mutation($id: String!) { confirmDocumentUpload(customerId: "cus_a", key: $id) { id url } }'),
    # A's document under B's own tenant and customer: reaches the metadata lookup.
    "confirmDocumentUpload.rekeyed": (KEY, 'mutation($id: String!) { confirmDocumentUpload(customerId: "cus_b", key: $id) { id url } }'),
    "deleteDocument.rekeyed": (KEY, 'mutation($id: String!) { deleteDocument(customerId: "cus_b", key: $id) }'),
    "deleteDocument": (KEY, 'mutation($id: String!) { deleteDocument(customerId: "cus_b", key: $id) }'),
    "completeMultipartUpload": (KEY, 'mutation($id: String!, $s: String!) { completeMultipartUpload(customerId: "cus_b", key: $id, uploadId: $s, parts: []) { id } }'),
    "abortMultipartUpload": (KEY, 'mutation($id: String!, $s: String!) { abortMultipartUpload(customerId: "cus_b", key: $id, uploadId: $s) }'),
    "updateUser": (USR, "mutation($id: ID!, $s: String) { updateUser(id: $id, input: {username: $s}) { id } }"),
}
REFERENCES: dict[str, tuple[Takes, str]] = {
    "contact.customerId": (CUS, 'mutation($id: ID!, $s: String!) { createContact(input: {customerId: $id, firstName: $s, lastName: "x"}) { id } }'),
    "opportunity.customerId": (CUS, 'mutation($id: ID!, $s: String!) { createOpportunity(input: {customerId: $id, title: $s, value: "1"}) { id } }'),
    "opportunity.contactId": (CON, 'mutation($id: ID!, $s: String!) { createOpportunity(input: {customerId: "cus_b", contactId: $id, title: $s, value: "1"}) { id } }'),
    "opportunity.ownerId": (USR, 'mutation($id: ID!, $s: String!) { createOpportunity(input: {customerId: "cus_b", ownerId: $id, title: $s, value: "1"}) { id } }'),
    "activity.relatedId": (RELATED, "mutation($id: ID!, $s: String!) { createActivity(input: {relatedId: $id, type: NOTE, subject: $s}) { id } }"),
    "activity.ownerId": (USR, 'mutation($id: ID!, $s: String!) { createActivity(input: {relatedId: "cus_b", ownerId: $id, type: NOTE, subject: $s}) { id } }'),
    "document.customerId": (CUS, 'mutation($id: ID!, $s: String!) { requestDocumentUpload(customerId: $id, fileName: $s, contentType: "text/plain", size: 5) { key url } }'),
    "document.activityId": (ACT, 'mutation($id: ID!) { requestDocumentUpload(customerId: "cus_b", activityId: $id, fileName: "x.txt", contentType: "text/plain", size: 5) { key } }'),
    "customer.ownerId": (USR, "mutation($id: ID!, $s: String!) { createCustomer(input: {companyName: $s, ownerId: $id}) { id } }"),
    "updateCustomer.ownerId": (USR, 'mutation($id: ID!) { updateCustomer(id: "cus_b", input: {ownerId: $id}) { id } }'),
    "updateOpportunity.contactId": (CON, 'mutation($id: ID!) { updateOpportunity(id: "opp_b", input: {contactId: $id}) { id } }'),
}
FILTERS: dict[str, tuple[Takes, str]] = {
    "customers.ownerId": (USR, "query($id: ID!) { customers(filter: {ownerId: $id}) { edges { node { id } } } }"),
    "opportunities.ownerId": (USR, "query($id: ID!) { opportunities(filter: {ownerId: $id}) { edges { node { id } } } }"),
    "opportunities.customerId": (CUS, "query($id: ID!) { opportunities(filter: {customerId: $id}) { edges { node { id } } } }"),
    "activities.relatedId": (RELATED, "query($id: ID!) { activities(filter: {relatedId: $id}) { edges { node { id } } } }"),
    "activities.ownerId": (USR, "query($id: ID!) { activities(filter: {ownerId: $id}) { edges { node { id } } } }"),
    "user.customers": (USR, "query($id: ID!) { user(id: $id) { customers { edges { node { id } } } } }"),
}
CURSORS = {
    "customers": "query($c: String) { customers(first: 1, after: $c) { edges { node { id } } pageInfo { endCursor } } }",
    "users": "query($c: String) { users(first: 1, after: $c) { edges { node { id } } pageInfo { endCursor } } }",
    "contacts": "query($c: String, $cus: ID!) { customer(id: $cus) { contacts(first: 1, after: $c) { edges { node { id } } pageInfo { endCursor } } } }",
}
# fmt: on
ID_PROBES = {**BY_ID, **WRITES, **REFERENCES, **FILTERS}


def records_of(tag: str) -> dict[Entity, tuple[str, ...]]:
    """The ids of a tenant's records (``_records``), by kind."""
    return {
        Entity.CUSTOMER: (f"cus_{tag}", f"cus_{tag}2"),
        Entity.CONTACT: (f"con_{tag}", f"con_{tag}2"),
        Entity.OPPORTUNITY: (f"opp_{tag}",),
        Entity.ACTIVITY: (f"act_{tag}",),
        Entity.USER: (f"{tag}-user",),
        # A document of the first customer, and an attachment of the activity.
        Entity.DOCUMENT: (f"doc_{tag}", f"doc_{tag}2"),
    }


A = records_of("a")
A_IDS = {i for of_kind in A.values() for i in of_kind}
A_CURSOR = "A's cursor"
Pair = tuple[str, str]  # (operation, target): an id of A's, or A_CURSOR for a cursor:* probe
PAIRS: list[Pair] = [
    (operation, f"key:{target}" if kind is Entity.DOCUMENT else target)
    for operation, (takes, _) in ID_PROBES.items()
    for kind in takes
    for target in A[kind]
] + [(f"cursor:{name}", A_CURSOR) for name in CURSORS]


@dataclass
class Tally:
    """One model's probes: how many ran, the checks that failed, the pairs probed."""

    probes: int = 0
    leaks: int = 0
    pairs: set[Pair] = field(default_factory=set)

    def record(self, pair: Pair, failed: list[str]) -> None:
        self.probes += 1
        self.leaks += len(failed)
        self.pairs.add(pair)

    def missing(self) -> list[Pair]:
        return [p for p in PAIRS if p not in self.pairs]


tally: dict[str, Tally] = {}  # by model; printed by tests/conftest.py


@dataclass(frozen=True)
class Answer:
    """What B heard for one value it sent: the body and the DynamoDB requests it cost."""

    sent: str
    body: dict[str, Any]
    requests: dict[str, int]
    # Redis keys the request created or changed that are not B's own.
    foreign_keys: list[str] = field(default_factory=list)


def _blank(answer: Answer) -> str:
    return json.dumps(answer.body, sort_keys=True).replace(json.dumps(answer.sent), '"<probe>"')


def failed_checks(probe: Answer, control: Answer) -> list[str]:
    """Every check of a probe against its control; the ones that failed (each a leak)."""
    text = json.dumps(probe.body)
    checks = {
        "A's secret in the answer": SECRET in text,
        "an id of A's in the answer": any(i in text for i in A_IDS),
        "answer differs from the control's": _blank(probe) != _blank(control),
        "DynamoDB requests differ from the control's": probe.requests != control.requests,
        "a cache key not of B's written": bool(probe.foreign_keys),
    }
    return [name for name, failed in checks.items() if failed]


def control_id(target: str, suffix: str, subject: UUID) -> str:
    """An id of the target's kind that exists in neither tenant."""
    kind = ids.entity_of(target)
    return f"nx-{subject}" if kind is None else f"{ids.PREFIXES[kind]}_nx{suffix}"


@dataclass
class World:
    gql: Gql
    b: str  # the prober's tenant
    log: RequestLog
    a_cursors: dict[str, str]
    b_cursors: dict[str, str]
    cache: Cache
    a_tag: str  # A's hash tag in cache keys
    a_keys: dict[str, str]  # "key:{document id}" -> the object key of A's document


async def _records(repos: Repos, tag: str) -> dict[str, str]:
    """The tenant's records; the object key of each of its documents ("key:{id}")."""
    now = utcnow()
    at: dict[str, Any] = {"created_at": now, "updated_at": now}
    of = records_of(tag)
    (who,), (opp,), (act,) = of[Entity.USER], of[Entity.OPPORTUNITY], of[Entity.ACTIVITY]
    cus = of[Entity.CUSTOMER][0]
    await repos.users.create(
        User(id=who, username=f"{SECRET}-{tag}", email=f"{tag}@x.example", role=Role.ADMIN, **at)
    )
    for n, id in enumerate(of[Entity.CUSTOMER]):
        await repos.customers.create(
            Customer(id=id, company_name=f"{SECRET} {tag} {n}", owner_id=who, **at)
        )
    for n, id in enumerate(of[Entity.CONTACT]):
        await repos.contacts.create(
            Contact(id=id, customer_id=cus, first_name=SECRET, last_name=str(n), **at)
        )
    await repos.opportunities.create(
        Opportunity(
            id=opp,
            customer_id=cus,
            contact_id=of[Entity.CONTACT][0],
            title=SECRET,
            value=Decimal(5),
            owner_id=who,
            **at,
        )
    )
    await repos.activities.create(
        Activity(
            id=act,
            related_id=opp,
            related_type=Entity.OPPORTUNITY,
            type=ActivityType.CALL,
            subject=SECRET,
            owner_id=who,
            scheduled_at=now - timedelta(days=1),
            **at,
        )
    )
    return await _documents(repos, tag, who, at)


async def _documents(repos: Repos, tag: str, who: str, at: dict[str, Any]) -> dict[str, str]:
    of, keys = records_of(tag), {}
    doc, attachment = of[Entity.DOCUMENT]
    for id, activity in ((doc, None), (attachment, of[Entity.ACTIVITY][0])):
        kind = DocumentKind.ATTACHMENT if activity else DocumentKind.DOCUMENT
        customer = of[Entity.CUSTOMER][0]
        key = str(ObjectKey(repos.scope.tenant_id, customer, kind, id, f"{SECRET}.pdf"))
        document = Document(
            id=id,
            customer_id=customer,
            kind=kind,
            key=key,
            name=f"{SECRET}.pdf",
            size=5,
            content_type="application/pdf",
            uploader_id=who,
            status=DocumentStatus.AVAILABLE,
            activity_id=activity,
            **at,
        )
        await repos.documents.create(document)
        keys[f"key:{id}"] = key
    return keys


async def _cursors(gql: Gql, tenant: str, tag: str) -> dict[str, str]:
    out = {}
    for name, document in CURSORS.items():
        variables = _cursor_variables(name, None, tag)
        body = await gql(document, variables, tenant=tenant, user=f"{tag}-user")
        assert "errors" not in body, body
        data = body["data"]["customer"]["contacts"] if name == "contacts" else body["data"][name]
        out[name] = data["pageInfo"]["endCursor"]
    return out


@pytest.fixture
async def world(
    repos: Repos,
    neighbour: Repos,
    tenants: Tenants,
    gql: Gql,
    request_log: RequestLog,
    db: Services,
) -> World:
    # Same shape in both tenants, ids tagged a (acme, A) and b (globex, B): B's own
    # records make the probes that need a valid record of B's (contactId on opp_b, ...).
    a_keys = await _records(repos, "a")
    await _records(neighbour, "b")
    a_cursors = await _cursors(gql, tenants.acme, "a")
    b_cursors = await _cursors(gql, tenants.globex, "b")
    a_tag = f"{{{tenants.acme}}}"
    return World(gql, tenants.globex, request_log, a_cursors, b_cursors, db.cache, a_tag, a_keys)


async def _send(
    w: World, document: str, make: Callable[[str], dict[str, Any]], value: str
) -> Answer:
    assert await w.cache.bump(w.b, FIELDS)  # B's cache forgotten: probe and control start cold
    before = await _redis_state(w.cache)
    w.log.clear()
    body = await w.gql(document, make(value), tenant=w.b, user="b-user")
    requests = dict(w.log.counts())
    after = await _redis_state(w.cache)
    changed = [k for k, v in after.items() if before.get(k) != v]
    # A's keys, or keys of no tenant; other tenants' keys belong to other tests' processes.
    foreign = [k for k in changed if w.a_tag in k or "{" not in k]
    return Answer(value, body, requests, foreign)


async def _redis_state(cache: Cache) -> dict[str, bytes | None]:
    """Every cache key and its value (the test Redis holds this session's keys only)."""
    names = [k.decode() async for k in cache.redis.scan_iter(match="zc.*", count=1000)]
    values = await cache.redis.mget(names) if names else []
    return dict(zip(names, values, strict=True))


def _rekeyed(key: str, tenant: str) -> str:
    """``key`` with its tenant and customer swapped for B's: B's own prefix, A's document."""
    _, customers, _, *rest = key.split("/")
    return "/".join((tenant, customers, "cus_b", *rest))


def _cursor_variables(name: str, cursor: str | None, tag: str = "b") -> dict[str, Any]:
    return {"c": cursor, "cus": f"cus_{tag}"} if name == "contacts" else {"c": cursor}


def _tampered(cursor: str) -> str:
    body, mac = cursor.split(".")
    return f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


Test = TypeVar("Test", bound=Callable[..., Any])


def _each_pair_once(test: Test) -> Test:
    """An explicit example per pair, so every pair is probed under every model
    whatever hypothesis draws (its draws favour the first of PAIRS)."""
    for pair in PAIRS:
        test = example(pair=pair, suffix="0", subject=UUID(int=0), text="")(test)
    return test


@pytest.mark.isolation
@settings(
    max_examples=PROBES_PER_MODEL - len(PAIRS),  # drawn, after the explicit examples
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the tally counts probes sent
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@_each_pair_once
@given(pair=st.sampled_from(PAIRS), suffix=SUFFIXES, subject=st.uuids(), text=PAYLOAD)
async def test_tenant_b_cannot_reach_tenant_a(
    world: World, model: Model, pair: Pair, suffix: str, subject: UUID, text: str
) -> None:
    operation, target = pair
    if operation.startswith("cursor:"):
        name = operation.removeprefix("cursor:")
        document = CURSORS[name]

        def make(value: str) -> dict[str, Any]:
            return _cursor_variables(name, value)

        probe, control = world.a_cursors[name], _tampered(world.b_cursors[name])
    else:
        document = ID_PROBES[operation][1]

        def make(value: str) -> dict[str, Any]:
            return {"id": value, "s": text or "x"}

        probe, control = target, control_id(target, suffix, subject)
        if target.startswith("key:"):  # A's key, and the same key naming no document
            id = target.removeprefix("key:")
            probe = world.a_keys[target]
            if operation.endswith(".rekeyed"):
                probe = _rekeyed(probe, world.b)
            control = probe.replace(f"/{id}/", f"/{control_id(id, suffix, subject)}/")
    heard = await _send(world, document, make, probe)
    expected = await _send(world, document, make, control)
    failed = failed_checks(heard, expected)
    tally.setdefault(model.value, Tally()).record(pair, failed)
    assert not failed, (pair, failed, heard, expected)


def test_failed_checks_count_as_leaks() -> None:
    """The checks fail on answers that differ, and each failure counts as a leak."""
    control = Answer("cus_nx1", {"data": {"customer": None}}, {"GetItem": 1})
    same = Answer("cus_a", {"data": {"customer": None}}, {"GetItem": 1})
    secret = {"data": {"customer": {"id": "cus_a", "companyName": SECRET}}}
    leaky = Answer("cus_a", secret, {"GetItem": 1, "Query": 1})
    assert failed_checks(same, control) == []
    leaky.foreign_keys.append("zc.x:{acme}:gen")
    assert failed_checks(leaky, control) == [
        "A's secret in the answer",
        "an id of A's in the answer",
        "answer differs from the control's",
        "DynamoDB requests differ from the control's",
        "a cache key not of B's written",
    ]
    errors = {"data": {"customer": None}, "errors": [{"message": "x"}]}
    assert failed_checks(Answer("cus_a", errors, {"GetItem": 1}), control) == [
        "answer differs from the control's"
    ]
    assert failed_checks(Answer("cus_a", control.body, {"GetItem": 2}), control) == [
        "DynamoDB requests differ from the control's"
    ]
    # The probed value itself is blanked, so echoing it is no difference, but it is
    # an id of A's in the answer.
    echo = Answer("cus_a", {"data": {"customer": {"id": "cus_a"}}}, {"GetItem": 1})
    echo_control = Answer("cus_nx1", {"data": {"customer": {"id": "cus_nx1"}}}, {"GetItem": 1})
    assert failed_checks(echo, echo_control) == ["an id of A's in the answer"]

    counted = Tally()  # not the session's tally
    counted.record(("customer", "cus_a"), failed_checks(same, control))
    counted.record(("customer", "cus_a"), failed_checks(leaky, control))
    assert (counted.probes, counted.leaks, counted.pairs) == (2, 5, {("customer", "cus_a")})
    assert len(counted.missing()) == len(PAIRS) - 1


def test_each_probe_names_an_id_of_the_kind_its_operation_takes() -> None:
    """A target is one of A's ids its operation takes, and its control an id of the
    same kind that neither tenant has."""
    b_ids = {i for of_kind in records_of("b").values() for i in of_kind}
    assert len(PAIRS) == len(set(PAIRS))
    for operation, target in PAIRS:
        if operation.startswith("cursor:"):
            assert target == A_CURSOR
            continue
        takes = ID_PROBES[operation][0]
        target = target.removeprefix("key:")
        control = control_id(target, "b", UUID(int=0))
        assert target in A_IDS, (operation, target)
        assert any(ids.names(kind, target) for kind in takes), (operation, target)
        assert ids.entity_of(control) == ids.entity_of(target), (target, control)
        assert any(ids.names(kind, control) for kind in takes), (operation, control)
        assert control not in A_IDS | b_ids, control
