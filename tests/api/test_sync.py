"""Mobile sync through GraphQL: full sync, deltas, tombstones, pushes and conflicts."""

from __future__ import annotations

from typing import Any

from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.models import Role
from dal.store import Repos
from dal.sync import sequence
from services import Services
from tests.api.test_documents import CONFIRM, ticket, upload
from tests.api.test_documents import DELETE as DELETE_DOCUMENT
from tests.conftest import DEFAULT_MODEL, Gql, Settle, Tenants, fresh_tenant
from tests.support import codes

SYNC = """
query Sync($since: String, $entities: [SyncEntity!], $first: Int) {
  sync(since: $since, entities: $entities, first: $first) {
    changes { entity id op version changedAt record } cursor hasMore full
  }
}
"""
PUSH = """
mutation Push($input: SyncPushInput!) {
  syncPush(input: $input) {
    results { clientMutationId outcome id version record errorCode message conflicts replayed }
  }
}
"""
CREATE = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id version } }"
UPDATE = """
mutation($id: ID!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) { version }
}
"""
DELETE_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) }"
ADD_CONTACT = """
mutation($input: CreateContactInput!) { createContact(input: $input) { id } }
"""


async def pull(
    gql: Gql, settle: Settle, since: str | None, **options: Any
) -> tuple[list[dict[str, Any]], str]:
    """Every page from ``since`` until hasMore is false: the changes and the last cursor,
    once what was committed before the call is numbered in the log (the sequencer)."""
    await settle()
    changes: list[dict[str, Any]] = []
    caller = options.pop("as_", {})
    while True:
        body = await gql(SYNC, {"since": since, **options}, **caller)
        assert "errors" not in body, body
        page = body["data"]["sync"]
        changes += page["changes"]
        since = page["cursor"]
        if not page["hasMore"]:
            return changes, since


async def customer(gql: Gql, name: str, **fields: Any) -> str:
    body = await gql(CREATE, {"input": {"companyName": name, **fields}})
    assert "errors" not in body, body
    return str(body["data"]["createCustomer"]["id"])


async def push(gql: Gql, mutations: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    body = await gql(PUSH, {"input": {"clientId": "phone-1", "mutations": mutations, **options}})
    assert "errors" not in body, body
    results: list[dict[str, Any]] = body["data"]["syncPush"]["results"]
    return results


async def test_full_sync_then_deltas_with_tombstones(settle: Settle, gql: Gql) -> None:
    acme = await customer(gql, "Acme", industry="Software")
    contact = await gql(
        ADD_CONTACT, {"input": {"customerId": acme, "firstName": "A", "lastName": "B"}}
    )
    contact_id = contact["data"]["createContact"]["id"]
    full, cursor = await pull(gql, settle, None, first=1)
    seen = {(c["entity"], c["id"]): c for c in full}
    assert seen[("CUSTOMER", acme)]["record"]["companyName"] == "Acme"
    assert seen[("CONTACT", contact_id)]["version"] == 1
    assert ("USER", "u-admin") in seen  # the caller, provisioned just in time
    # The delta starts a little before the full sync's mark (index lag): what it gives
    # again is what the full sync gave, at the same versions.
    again, cursor = await pull(gql, settle, cursor)
    assert {(c["entity"], c["id"], c["version"]) for c in again} <= {
        (c["entity"], c["id"], c["version"]) for c in full
    }
    assert (await pull(gql, settle, cursor))[0] == []  # nothing since
    await gql(UPDATE, {"id": acme, "input": {"industry": "Retail"}})
    await gql(DELETE_CONTACT, {"id": contact_id})
    delta, _ = await pull(gql, settle, cursor)
    assert [(c["entity"], c["op"], c["version"]) for c in delta] == [
        ("CUSTOMER", "UPSERT", 2),
        ("CONTACT", "DELETE", 2),
    ]
    assert delta[0]["record"]["industry"] == "Retail"
    assert delta[1]["record"] is None


async def test_a_change_during_a_full_sync_comes_in_the_delta_after_it(
    settle: Settle, gql: Gql
) -> None:
    first = await customer(gql, "First")
    body = await gql(SYNC, {"since": None, "entities": ["CUSTOMER"], "first": 1})
    page = body["data"]["sync"]
    assert page["full"]
    assert page["hasMore"]
    late = await customer(gql, "Late")  # after the mark: the delta's
    await gql(UPDATE, {"id": first, "input": {"industry": "Late too"}})
    rest, _ = await pull(gql, settle, page["cursor"], entities=["CUSTOMER"], first=1)
    got = [(c["id"], c["version"]) for c in page["changes"] + rest]
    assert (late, 1) in got
    assert (first, 2) in got


async def test_a_cursor_is_bound_to_its_entities_and_tenant(
    settle: Settle, gql: Gql, tenants: Tenants
) -> None:
    await customer(gql, "Bound")
    _, cursor = await pull(gql, settle, None, entities=["CUSTOMER"])
    other = await gql(SYNC, {"since": cursor})
    assert codes(other) == ["BAD_USER_INPUT"]
    stolen = await gql(SYNC, {"since": cursor, "entities": ["CUSTOMER"]}, tenant=tenants.globex)
    assert codes(stolen) == ["BAD_USER_INPUT"]


async def test_another_tenant_syncs_nothing_of_ours(
    settle: Settle, gql: Gql, tenants: Tenants
) -> None:
    mark = await gql(SYNC, {"since": None, "entities": ["CUSTOMER"]}, tenant=tenants.globex)
    cursor = mark["data"]["sync"]["cursor"]
    await customer(gql, "Private Corp")
    theirs, _ = await pull(gql, settle, None, as_={"tenant": tenants.globex})
    assert all(c["entity"] == "USER" for c in theirs)
    await settle()
    body = await gql(SYNC, {"since": cursor, "entities": ["CUSTOMER"]}, tenant=tenants.globex)
    assert body["data"]["sync"]["changes"] == []


async def test_expired_changes_answer_resync_required(
    settle: Settle, gql: Gql, db: Services, repos: Repos
) -> None:
    _, cursor = await pull(gql, settle, None)
    made = await customer(gql, "Soon gone")
    await settle()  # numbered: its pointer is the head's
    shard = sequence.shard_of(made)
    # What TTL does after 90 days: the entry goes; the cursor before it cannot be served.
    pk = sequence.partition(repos.scope, shard)
    head = await db.store.dynamo.get(repos.scope.table(CHANGES.entity), pk, sequence.HEAD)
    assert head is not None
    key = {KEY: {"S": pk}, SORT: {"S": sequence.entry_key(int(head["seq"]))}}
    await db.dynamo_client.delete_item(TableName=repos.scope.table(CHANGES.entity), Key=key)
    body = await gql(SYNC, {"since": cursor})
    assert codes(body) == ["RESYNC_REQUIRED"]


async def test_push_creates_replays_and_rejects_reuse(gql: Gql) -> None:
    create = {
        "clientMutationId": "m1",
        "entity": "CUSTOMER",
        "op": "UPSERT",
        "id": "cus_offline1",
        "changes": {"companyName": "Made offline", "tier": "PREMIUM"},
    }
    [first] = await push(gql, [create])
    assert (first["outcome"], first["version"], first["replayed"]) == ("APPLIED", 1, False)
    assert first["record"]["tier"] == "PREMIUM"
    [again] = await push(gql, [create])
    assert again == {**first, "replayed": True}
    reused = {**create, "changes": {"companyName": "Something else"}}
    [refused] = await push(gql, [reused])
    assert (refused["outcome"], refused["errorCode"]) == ("REJECTED", "BAD_USER_INPUT")


async def test_receipts_are_each_users_own(gql: Gql) -> None:
    """A colleague's device that picked the same clientId and clientMutationId gets
    the answer of its own push, never the first user's result."""
    create = {
        "clientMutationId": "m1",
        "entity": "CUSTOMER",
        "op": "UPSERT",
        "id": "cus_first1",
        "changes": {"companyName": "First", "industry": "Secret plans"},
    }
    [mine] = await push(gql, [create])
    # Another mutation under the same ids: not "used before", it is theirs to use.
    other = {**create, "id": "cus_second1", "changes": {"companyName": "Second"}}
    rep = {"user": "u-rep", "role": Role.SALES_REP}
    again = {"input": {"clientId": "phone-1", "mutations": [other]}}
    [applied] = (await gql(PUSH, again, **rep))["data"]["syncPush"]["results"]
    assert (applied["outcome"], applied["record"]["companyName"]) == ("APPLIED", "Second")
    # The same mutation under the same ids: run as theirs, not the first answer replayed.
    same = {"input": {"clientId": "phone-1", "mutations": [create]}}
    rep2 = {"user": "u-rep2", "role": Role.SALES_REP}
    [theirs] = (await gql(PUSH, same, **rep2))["data"]["syncPush"]["results"]
    assert (theirs["outcome"], theirs["replayed"], theirs["record"]) == ("REJECTED", False, None)
    assert theirs["message"] == "a record with this id already exists"
    [replayed] = await push(gql, [create])
    assert replayed == {**mine, "replayed": True}


async def test_a_failing_mutation_is_rejected_and_the_batch_goes_on(gql: Gql) -> None:
    bad = {
        "clientMutationId": "b1",
        "entity": "CUSTOMER",
        "op": "UPSERT",
        "id": "cus_b1",
        "changes": {"companyName": " "},
    }
    good = {
        "clientMutationId": "b2",
        "entity": "CUSTOMER",
        "op": "UPSERT",
        "id": "cus_b2",
        "changes": {"companyName": "Fine"},
    }
    rejected, applied = await push(gql, [bad, good])
    assert (rejected["outcome"], rejected["errorCode"]) == ("REJECTED", "BAD_USER_INPUT")
    assert "companyName" in rejected["message"]
    assert applied["outcome"] == "APPLIED"
    [replay] = await push(gql, [bad])  # a rejection is a result too: the device stops retrying
    assert replay["replayed"]
    assert replay["outcome"] == "REJECTED"


def _edit(
    mid: str, id: str, base: int, changed_at: str | None = None, **changes: Any
) -> dict[str, Any]:
    return {
        "clientMutationId": mid,
        "entity": "CUSTOMER",
        "op": "UPSERT",
        "id": id,
        "baseVersion": base,
        "changes": changes,
        "changedAt": changed_at,
    }


async def test_optimistic_answers_conflict_with_the_server_record(gql: Gql) -> None:
    id = await customer(gql, "Opt")
    await gql(UPDATE, {"id": id, "input": {"industry": "Server"}})
    [r] = await push(gql, [_edit("o1", id, 1, industry="Device")], strategy="OPTIMISTIC")
    assert (r["outcome"], r["version"], r["record"]["industry"]) == ("CONFLICT", 2, "Server")
    assert r["conflicts"] == ["industry"]


async def test_automerge_keeps_both_sides_and_reports_what_it_kept(gql: Gql) -> None:
    id = await customer(gql, "Merge")
    await gql(UPDATE, {"id": id, "input": {"industry": "Server"}})
    edit = _edit("a1", id, 1, industry="Device", tier="ENTERPRISE", companyName="Renamed")
    [r] = await push(gql, [edit], strategy="AUTOMERGE")
    assert (r["outcome"], r["version"]) == ("MERGED", 3)
    assert r["record"]["industry"] == "Server"  # both changed it: the server's stays
    assert (r["record"]["tier"], r["record"]["companyName"]) == ("ENTERPRISE", "Renamed")
    assert r["conflicts"] == ["industry"]


async def test_last_writer_wins_per_field_by_changed_at(gql: Gql) -> None:
    id = await customer(gql, "Lww")
    await gql(UPDATE, {"id": id, "input": {"industry": "Server"}})
    later = _edit("l1", id, 1, "2999-01-01T00:00:00Z", industry="Device later")
    [won] = await push(gql, [later], strategy="LAST_WRITER_WINS")
    assert (won["outcome"], won["record"]["industry"], won["conflicts"]) == (
        "MERGED",
        "Device later",
        [],
    )
    earlier = _edit("l2", id, 1, "2000-01-01T00:00:00", industry="Device earlier")
    [lost] = await push(gql, [earlier], strategy="LAST_WRITER_WINS")  # no zone: UTC
    assert (lost["outcome"], lost["conflicts"]) == ("CONFLICT", ["industry"])


async def test_an_edit_of_a_deleted_record_is_a_conflict(gql: Gql) -> None:
    id = await customer(gql, "Doomed")
    delete = {
        "clientMutationId": "d1",
        "entity": "CUSTOMER",
        "op": "DELETE",
        "id": id,
        "baseVersion": 1,
    }
    [gone] = await push(gql, [delete])
    assert gone["outcome"] == "APPLIED"
    assert gone["version"] == 2
    [edit] = await push(gql, [_edit("d2", id, 1, industry="Too late")])
    assert (edit["outcome"], edit["record"]) == ("CONFLICT", None)


async def test_a_document_enters_the_log_when_confirmed_and_leaves_as_a_delete(
    settle: Settle, gql: Gql
) -> None:
    owner = await customer(gql, "Files")
    _, cursor = await pull(gql, settle, None, entities=["DOCUMENT"])
    await ticket(gql, owner, "never sent.pdf", b"x")  # PENDING: no document yet
    assert (await pull(gql, settle, cursor, entities=["DOCUMENT"]))[0] == []
    confirmed = await upload(gql, owner, "scan.pdf", b"%PDF-1.7 scan")
    again = await gql(CONFIRM, {"c": owner, "k": confirmed["key"]})  # idempotent: a retry
    assert again["data"]["confirmDocumentUpload"]["id"] == confirmed["id"]
    changes, cursor = await pull(gql, settle, cursor, entities=["DOCUMENT"])
    assert [(c["id"], c["op"]) for c in changes] == [(confirmed["id"], "UPSERT")]
    assert changes[0]["record"]["name"] == "scan.pdf"
    await gql(DELETE_DOCUMENT, {"c": owner, "k": confirmed["key"]})
    gone, _ = await pull(gql, settle, cursor, entities=["DOCUMENT"])
    assert [(c["id"], c["op"]) for c in gone] == [(confirmed["id"], "DELETE")]


async def test_a_tenant_may_have_its_own_default_strategy(gql: Gql, db: Services) -> None:
    strict = fresh_tenant("strict")
    await db.store.tenants.create(strict, DEFAULT_MODEL, sync_strategy="OPTIMISTIC")
    made = await gql(CREATE, {"input": {"companyName": "Strict"}}, tenant=strict)
    id = made["data"]["createCustomer"]["id"]
    await gql(UPDATE, {"id": id, "input": {"industry": "Server"}}, tenant=strict)
    variables = {"input": {"clientId": "p", "mutations": [_edit("s1", id, 1, tier="FREE")]}}
    body = await gql(PUSH, variables, tenant=strict)
    [result] = body["data"]["syncPush"]["results"]
    assert result["outcome"] == "CONFLICT"  # AUTOMERGE, the server's default, would merge


async def test_a_push_nested_too_deep_is_refused_before_its_receipt_is_made(gql: Gql) -> None:
    """The receipt's digest serialises the changes recursively, before any field
    check: the nesting is bounded first (one level for the fields, 32 in each), and
    the push refused as a whole (it went on to that walk, then to the mutation). Deeper
    still than the request's own bound (edge.operation.MAX_NESTING), it is a bad request."""
    deep: Any = "x"
    for _ in range(50):
        deep = [deep]
    mutation = {
        "clientMutationId": "deep1",
        "entity": "CUSTOMER",
        "op": "UPSERT",
        "id": "cus_deep1",
        "changes": {"companyName": "Deep", "contactInfo": deep},
    }
    body = await gql(PUSH, {"input": {"clientId": "phone-1", "mutations": [mutation]}})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == "mutations"
    for _ in range(150):
        deep = [deep]
    mutation["changes"] = {"companyName": "Deep", "contactInfo": deep}
    body = await gql(PUSH, {"input": {"clientId": "phone-1", "mutations": [mutation]}})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"], body
