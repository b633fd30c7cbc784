"""The cache in four layers, against one Redis node and a three-node Redis Cluster.

Each test counts the DynamoDB requests an answer cost: a hit costs none. After
every kind of write the next answer is fresh, before the mutation has
returned; lists are bumped only by writes that change them.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from dal.cache.keys import Layer
from dal.cache.records import version_of
from dal.models import Role
from dal.timefmt import dump_dt, utcnow
from services import stream_consumer
from tests.cache_support import Api, api_on
from tests.conftest import Tenants

CUSTOMER = "query($id: ID!) { customer(id: $id) { id companyName industry tier version } }"
LIST = """query($industry: String, $owner: ID) {
  customers(filter: {industry: $industry, ownerId: $owner}, first: 50) {
    edges { node { id tier } } } }"""
CREATE = """mutation($name: String!, $industry: String) {
  createCustomer(input: {companyName: $name, industry: $industry}) { id version } }"""
CREATE_WITH_ID = """mutation($id: ID!, $name: String!) {
  createCustomer(input: {id: $id, companyName: $name}) { id } }"""
UPDATE = """mutation($id: ID!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) { id version } }"""
DELETE = "mutation($id: ID!) { deleteCustomer(id: $id) }"
PIPELINE = "{ pipeline { totalValue stages { stage count } } }"
DASHBOARD = "{ dashboard { overdueActivities todaysActivities { id } pipeline { totalValue } } }"
OPPORTUNITY = """mutation($customer: ID!) {
  createOpportunity(input: {customerId: $customer, title: "Deal", value: "100.00"}) { id } }"""
ACTIVITY = """mutation($related: ID!, $at: DateTime!) {
  createActivity(input: {relatedId: $related, type: CALL, subject: "Call", scheduledAt: $at})
  { id } }"""
ME = "{ me { id } }"
NAME = "query($id: ID!) { customer(id: $id) { companyName } }"
NOT_COVERED = "query($id: ID!) { customer(id: $id) { id owner { id } } }"


async def _customer(api: Api, name: str = "Acme", industry: str | None = None) -> str:
    body = await api.post(CREATE, {"name": name, "industry": industry})
    return str(body["data"]["createCustomer"]["id"])


def _ids(body: dict[str, object]) -> list[str]:
    edges = body["data"]["customers"]["edges"]  # type: ignore[index]
    return [e["node"]["id"] for e in edges]


async def test_a_customer_is_read_once_then_from_the_cache(api: Api) -> None:
    id = await _customer(api)
    await api.forget()
    _, cold = await api.requests(CUSTOMER, {"id": id})
    warm_body, warm = await api.requests(CUSTOMER, {"id": id})
    assert cold == {"BatchGetItem": 1}
    assert warm == {}  # the whole answer, from the response cache
    assert warm_body["data"]["customer"]["companyName"] == "Acme"
    assert api.cache.stats.get(Layer.RESPONSE, "hit") == 1
    # Another selection of the same customer: from the record layer.
    other, sent = await api.requests(NAME, {"id": id})
    assert (other["data"]["customer"]["companyName"], sent) == ("Acme", {})
    assert api.cache.stats.get(Layer.CUSTOMER, "hit") == 1


async def test_an_update_shows_at_once_and_a_delete_is_gone(api: Api) -> None:
    id = await _customer(api)
    await api.requests(CUSTOMER, {"id": id})
    await api.post(UPDATE, {"id": id, "input": {"tier": "PREMIUM", "companyName": "Acme 2"}})
    body, sent = await api.requests(CUSTOMER, {"id": id})
    assert body["data"]["customer"]["tier"] == "PREMIUM"
    assert body["data"]["customer"]["companyName"] == "Acme 2"
    assert sent == {}  # the update put the new record through
    await api.post(DELETE, {"id": id})
    body, _ = await api.requests(CUSTOMER, {"id": id})
    assert body["data"]["customer"] is None
    assert id not in _ids(await api.post(LIST, {}))


async def test_lists_follow_creates_and_moves_between_industries_and_owners(api: Api) -> None:
    id = await _customer(api, "Moving", industry="Retail")
    other = await _customer(api, "Staying", industry="Energy")
    assert _ids(await api.post(LIST, {"industry": "Retail"})) == [id]
    assert _ids(await api.post(LIST, {"industry": "Energy"})) == [other]
    await api.post(UPDATE, {"id": id, "input": {"industry": "Energy"}})
    assert _ids(await api.post(LIST, {"industry": "Retail"})) == []
    assert set(_ids(await api.post(LIST, {"industry": "Energy"}))) == {id, other}
    await api.post(CREATE, {"name": "Owned"})
    mine = _ids(await api.post(LIST, {"owner": "u-admin"}))
    assert len(mine) == 3
    await api.post(ME, user="u-other")  # the user exists once it has asked once
    await api.post(UPDATE, {"id": id, "input": {"ownerId": "u-other"}})
    assert _ids(await api.post(LIST, {"owner": "u-other"})) == [id]
    assert id not in _ids(await api.post(LIST, {"owner": "u-admin"}))


async def test_an_update_that_moves_nothing_keeps_the_list_and_shows_in_it(api: Api) -> None:
    id = await _customer(api, "Tiered", industry="Tiers")
    await api.post(LIST, {"industry": "Tiers"})
    await api.post(UPDATE, {"id": id, "input": {"tier": "ENTERPRISE"}})
    body, sent = await api.requests(LIST, {"industry": "Tiers"})
    assert body["data"]["customers"]["edges"][0]["node"]["tier"] == "ENTERPRISE"
    assert sent == {}  # the list's ids and the node both from the cache


async def test_reports_and_the_dashboard_follow_the_writes_they_read(api: Api) -> None:
    id = await _customer(api)
    before = await api.post(PIPELINE)
    again, sent = await api.requests(PIPELINE)
    assert (again, sent) == (before, {})
    await api.post(OPPORTUNITY, {"customer": id})
    # The aggregates change when the stream consumer applies the write; it bumps the
    # reports' generation then, so the cached answer (and its ETag) goes.
    await stream_consumer(api.services).settle()
    after = await api.post(PIPELINE)
    assert after["data"]["pipeline"]["totalValue"] != before["data"]["pipeline"]["totalValue"]
    dashboard = await api.post(DASHBOARD)
    assert dashboard["data"]["dashboard"]["todaysActivities"] == []
    at = dump_dt(utcnow() + timedelta(minutes=1))
    await api.post(ACTIVITY, {"related": id, "at": at})
    dashboard = await api.post(DASHBOARD)
    assert len(dashboard["data"]["dashboard"]["todaysActivities"]) == 1


async def test_fifty_requests_on_a_cold_key_read_dynamodb_once(api: Api) -> None:
    id = await _customer(api)
    await api.forget()
    api.log.clear()
    answers = await asyncio.gather(*(api.post(CUSTOMER, {"id": id}) for _ in range(50)))
    assert {a["data"]["customer"]["id"] for a in answers} == {id}
    assert dict(api.log.counts()) == {"BatchGetItem": 1}
    api.log.clear()
    await asyncio.gather(*(api.post(PIPELINE, {}) for _ in range(50)))
    assert dict(api.log.counts()) == {"Query": 1}


async def test_two_processes_on_a_cold_key_read_dynamodb_once(
    api: Api, settings: object, tenants: Tenants
) -> None:
    """Another server process (its own client and fillers) waits for the first's fill."""
    await _customer(api)
    async with api_on(api.services.settings, tenants) as other:
        await api.forget()
        api.log.clear()
        other.log.clear()
        both = [api.post(PIPELINE, {}) for _ in range(25)]
        both += [other.post(PIPELINE, {}) for _ in range(25)]
        await asyncio.gather(*both)
        assert api.log.counts()["Query"] + other.log.counts()["Query"] == 1


async def test_keys_are_the_tenants_and_the_users_where_the_answer_is_theirs(
    api: Api, tenants: Tenants
) -> None:
    await _customer(api)
    mine = await api.post(DASHBOARD, user="u-admin")
    await api.post(ACTIVITY, {"related": await _customer(api), "at": dump_dt(utcnow())})
    # A user's dashboard is their own: another user's is not served from it.
    theirs = await api.post(DASHBOARD, user="u-two", role=Role.SALES_REP)
    assert theirs["data"]["dashboard"]["todaysActivities"] == []
    assert mine["data"]["dashboard"]["todaysActivities"] == []
    # The neighbour's pipeline is its own, though the document is the same.
    await api.post(OPPORTUNITY, {"customer": await _customer(api)})
    await stream_consumer(api.services).settle()
    acme = await api.post(PIPELINE)
    globex = await api.post(PIPELINE, tenant=tenants.globex)
    assert acme != globex
    assert globex["data"]["pipeline"]["totalValue"] == "0.00"


async def test_a_role_has_answers_of_its_own_in_the_response_cache(api: Api) -> None:
    id = await _customer(api)
    await api.post(CUSTOMER, {"id": id}, role=Role.ADMIN)
    hits = api.cache.stats.get(Layer.RESPONSE, "hit")
    await api.post(CUSTOMER, {"id": id}, user="u-rep", role=Role.SALES_REP)
    assert api.cache.stats.get(Layer.RESPONSE, "hit") == hits  # a miss: not the admin's answer
    await api.post(CUSTOMER, {"id": id}, user="u-rep", role=Role.SALES_REP)
    assert api.cache.stats.get(Layer.RESPONSE, "hit") == hits + 1


async def test_a_repeated_query_skips_execution(api: Api) -> None:
    id = await _customer(api)
    first = await api.send(CUSTOMER, {"id": id})
    api.log.clear()
    second = await api.send(CUSTOMER, {"id": id})
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert dict(api.log.counts()) == {}


async def test_a_poll_with_a_matching_etag_is_answered_304(api: Api) -> None:
    id = await _customer(api)
    params = {"query": CUSTOMER, "variables": f'{{"id": "{id}"}}'}
    headers = {"Authorization": f"Bearer {_token(api)}"}
    first = await api.http.get("/graphql", params=params, headers=headers)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "private, max-age=300"
    etag = first.headers["etag"]
    api.log.clear()
    polling = headers | {"If-None-Match": etag}
    polled = await api.http.get("/graphql", params=params, headers=polling)
    assert (polled.status_code, polled.content, polled.headers["etag"]) == (304, b"", etag)
    assert dict(api.log.counts()) == {}
    await api.post(UPDATE, {"id": id, "input": {"tier": "PREMIUM"}})
    changed = await api.http.get("/graphql", params=params, headers=polling)
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["data"]["customer"]["tier"] == "PREMIUM"


async def test_answers_no_generation_describes_are_not_stored(api: Api) -> None:
    id = await _customer(api)
    uncovered = await api.send(NOT_COVERED, {"id": id})
    assert uncovered.headers["cache-control"] == "no-store"
    assert "etag" not in uncovered.headers
    written = await api.send(CREATE, {"name": "Other"})
    assert written.headers["cache-control"] == "no-store"


async def test_persisted_queries_in_apollos_protocol(api: Api) -> None:
    sha = hashlib.sha256(PIPELINE.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    headers = {"Authorization": f"Bearer {_token(api)}"}
    unknown = await api.http.post("/graphql", json={"extensions": extensions}, headers=headers)
    error = unknown.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    both = {"query": PIPELINE, "extensions": extensions}
    registered = await api.http.post("/graphql", json=both, headers=headers)
    assert "errors" not in registered.json()
    params = {"extensions": f'{{"persistedQuery": {{"version": 1, "sha256Hash": "{sha}"}}}}'}
    by_get = await api.http.get("/graphql", params=params, headers=headers)
    assert by_get.json() == registered.json()
    wrong = {"query": PIPELINE + " ", "extensions": extensions}
    refused = await api.http.post("/graphql", json=wrong, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def _token(api: Api) -> str:
    from tests.conftest import token

    return token(api.tenant)


async def test_only_an_answer_given_for_the_etag_is_answered_304(api: Api) -> None:
    """A 304 needs a kept answer: "*", or an ETag with a document never answered
    (invalid, or refused by the limits), gets the full treatment."""
    headers = {"Authorization": f"Bearer {_token(api)}", "If-None-Match": "*"}
    params = {"query": "{ pipeline(nope: 1) { totalValue } }"}
    invalid = await api.http.get("/graphql", params=params, headers=headers)
    assert invalid.status_code == 200
    assert invalid.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    first = await api.http.get("/graphql", params={"query": PIPELINE}, headers=headers)
    assert first.status_code == 200  # "*" is not an ETag we gave


async def test_a_customer_deleted_and_created_again_is_not_shadowed_by_its_predecessor(
    api: Api,
) -> None:
    """A record filled late from a read of the deleted incarnation (higher version,
    older creation) does not land over the new one."""
    id = "cus_again"
    await api.post(CREATE_WITH_ID, {"id": id, "name": "First"})
    for n in range(3):
        await api.post(UPDATE, {"id": id, "input": {"companyName": f"First {n}"}})
    stale = (await api.services.store.for_tenant(api.tenant).customers.get_many([id]))[0]
    await api.post(DELETE, {"id": id})
    await api.post(CREATE_WITH_ID, {"id": id, "name": "Second"})
    key = await _record_key(api, id)
    assert stale is not None
    assert stale.version == 4
    await api.cache.put_versions(Layer.CUSTOMER, [(key, version_of(stale), stale)], 60)
    body = await api.post(NAME, {"id": id})
    assert body["data"]["customer"]["companyName"] == "Second"


async def _record_key(api: Api, id: str) -> str:
    generations = await api.cache.generations(api.tenant)
    assert generations is not None
    return api.cache.keys.record(api.tenant, generations.epoch, "Customers", id)
