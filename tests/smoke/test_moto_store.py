"""The smoke set on moto: embedded mode (`make run`) keeps DynamoDB in moto, so the
write path, lists, search and reports must work there too, not only on DynamoDB
Local. One flow through the API, each step checked; the rest of the suite runs
on DynamoDB Local.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from botocore.exceptions import ClientError

from dal.dynamodb.provision import create_tables
from dal.storage.buckets import BucketSettings, create_buckets
from server import create_app
from services import Services, open_services, stream_consumer
from settings import Settings
from tests.conftest import PREFIX, fresh_tenant, store_settings, token

CREATE_CUSTOMER = """mutation($n: String!) {
  createCustomer(input: {companyName: $n, industry: "Retail"}) { id companyName version } }"""
CREATE_CONTACT = """mutation($c: ID!) { createContact(input: {customerId: $c, firstName: "Ann",
  lastName: "Lee"}) { id } }"""
CREATE_DEAL = """mutation($c: ID!, $p: ID!) { createOpportunity(input: {customerId: $c,
  contactId: $p, title: "Pilot", value: "1000.10"}) { id stage value probability } }"""
WIN = """mutation($id: ID!) { updateOpportunity(id: $id, input: {stage: CLOSED_WON})
  { stage probability closedAt version } }"""
CREATE_ACTIVITY = """mutation($r: ID!) { createActivity(input: {relatedId: $r, type: CALL,
  subject: "Kick-off", scheduledAt: "2030-01-01T09:00:00Z"}) { id overdue } }"""
READ = """query($c: ID!) {
  customer(id: $c) { companyName contacts { edges { node { id } } }
    opportunities { edges { node { id value } } } }
  customers(filter: {nameStartsWith: "smo"}) { edges { node { id } } }
  closedDeals { edges { node { id } } }
  pipeline { totalValue stages { stage count totalValue } }
}"""
DELETE_CUSTOMER = "mutation($c: ID!) { deleteCustomer(id: $c) }"


@pytest_asyncio.fixture(scope="module")
async def moto_services(moto_endpoint: str, settings: Settings) -> AsyncIterator[Services]:
    """The suite's settings, with DynamoDB in moto as well."""
    on_moto = store_settings(moto_endpoint, moto_endpoint)
    async with open_services(on_moto) as opened:
        await create_tables(opened.dynamo_client, PREFIX)
        await create_buckets(opened.s3_client, BucketSettings(PREFIX))
        yield opened


async def test_a_crm_flow_runs_on_moto(moto_services: Services) -> None:
    tenant = fresh_tenant("smoke")
    app = create_app(moto_services.settings, moto_services)
    headers = {"Authorization": f"Bearer {token(tenant)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as http:

        async def ask(document: str, **variables: Any) -> dict[str, Any]:
            body = {"query": document, "variables": variables}
            answer: dict[str, Any] = (
                await http.post("/graphql", json=body, headers=headers)
            ).json()
            assert "errors" not in answer, answer
            data: dict[str, Any] = answer["data"]
            return data

        customer = (await ask(CREATE_CUSTOMER, n="Smoke Works"))["createCustomer"]
        contact = (await ask(CREATE_CONTACT, c=customer["id"]))["createContact"]
        deal = (await ask(CREATE_DEAL, c=customer["id"], p=contact["id"]))["createOpportunity"]
        assert (deal["stage"], deal["value"], deal["probability"]) == ("LEAD", "1000.10", 10)
        won = (await ask(WIN, id=deal["id"]))["updateOpportunity"]
        assert (won["stage"], won["probability"], won["version"]) == ("CLOSED_WON", 100, 2)
        activity = (await ask(CREATE_ACTIVITY, r=deal["id"]))["createActivity"]
        assert activity["overdue"] is False
        await stream_consumer(moto_services).settle()  # moto's streams feed the aggregates
        read = await ask(READ, c=customer["id"])
        assert read["customer"]["contacts"]["edges"] == [{"node": {"id": contact["id"]}}]
        assert read["customer"]["opportunities"]["edges"][0]["node"]["value"] == "1000.10"
        assert read["customers"]["edges"] == [{"node": {"id": customer["id"]}}]
        assert read["closedDeals"]["edges"] == [{"node": {"id": deal["id"]}}]
        won_stage = next(s for s in read["pipeline"]["stages"] if s["stage"] == "CLOSED_WON")
        assert won_stage == {"stage": "CLOSED_WON", "count": 1, "totalValue": "1000.10"}
        refused = await http.post(
            "/graphql",
            json={"query": DELETE_CUSTOMER, "variables": {"c": customer["id"]}},
            headers=headers,
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_cancelled_transaction_on_moto_changes_nothing(moto_services: Services) -> None:
    """embedded.py rolls back moto's transactions item by item (not by copying whole
    tables): an update made in place, a new item and a delete are all undone when a
    later condition fails, and the same write then goes through."""
    client, table = moto_services.dynamo_client, f"{PREFIX}Tenants"
    ranged = f"{PREFIX}Aggregates"  # a table with a sort key
    pk = fresh_tenant("rollback")
    kept = {"pk": {"S": f"{pk}#kept"}, "sk": {"S": "LEAD"}, "n": {"N": "1"}}
    gone = {"pk": {"S": f"{pk}#gone"}, "n": {"N": "1"}}
    await client.put_item(TableName=ranged, Item=kept)
    await client.put_item(TableName=table, Item=gone)
    key = {"pk": kept["pk"], "sk": kept["sk"]}
    bump = {
        "TableName": ranged,
        "Key": key,
        "UpdateExpression": "SET n = n + :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    new = {"TableName": table, "Item": {"pk": {"S": f"{pk}#new"}}}
    drop = {"TableName": table, "Key": {"pk": gone["pk"]}}
    never = {
        "TableName": table,
        "Key": {"pk": {"S": f"{pk}#absent"}},
        "ConditionExpression": "attribute_exists(pk)",
    }
    writes: list[Any] = [{"Update": bump}, {"Put": new}, {"Delete": drop}]
    failing: list[Any] = [*writes, {"ConditionCheck": never}]
    with pytest.raises(ClientError, match="TransactionCanceled"):
        await client.transact_write_items(TransactItems=failing)
    stored = [*(await client.scan(TableName=table))["Items"]]
    stored += (await client.scan(TableName=ranged))["Items"]
    assert [i for i in stored if i["pk"]["S"].startswith(pk)] == [gone, kept]
    await client.transact_write_items(TransactItems=writes)
    assert (await client.get_item(TableName=ranged, Key=key))["Item"]["n"] == {"N": "2"}
