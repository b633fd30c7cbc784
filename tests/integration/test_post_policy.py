"""The upload tickets the API hands out, against an S3 that enforces POST policies.

moto does not check a presigned POST's policy (any size, any type is stored),
so the suite's moto tests prove the check at confirmation. Here LocalStack's S3
(tests/localstack.py) plays the bucket: the same API, the same tickets, and S3
itself refuses a file of another size or type, another key, an expired ticket.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dal.dynamodb.provision import create_tables
from dal.storage.buckets import BucketSettings, create_buckets
from dal.storage.objects import Objects
from dal.tenancy.scope import Model
from server import create_app
from services import Services, open_services
from settings import Settings
from tests.conftest import PREFIX, fresh_tenant, store_settings, token
from tests.localstack import LocalStackS3, Unavailable

BODY = b"%PDF-1.7 ten-four"  # 17 bytes
TICKET = """
mutation($c: ID!, $s: Int!) {
  requestDocumentUpload(customerId: $c, fileName: "a.pdf", contentType: "application/pdf",
                        size: $s) { key url fields }
}"""
CONFIRM = (
    "mutation($c: ID!, $k: String!) { confirmDocumentUpload(customerId: $c, key: $k) { url } }"
)


@pytest.fixture(scope="module")
def localstack() -> Iterator[str]:
    server = LocalStackS3()
    try:
        url = server.start()
    except Unavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield url
    server.stop()


def _settings(dynamodb: str, s3: str, sqs: str) -> Settings:
    base = store_settings(dynamodb, s3)
    # LocalStack checks presigned GET signatures against the secret "test"; it runs
    # S3 alone here, so the job queue stays on the suite's moto server.
    given = {"access_key_id": "test", "secret_access_key": SecretStr("test")}
    aws = base.aws.model_copy(update={**given, "sqs_endpoint_url": sqs})
    return base.model_copy(update={"aws": aws})


@pytest.fixture(scope="module")
async def enforced(
    dynamodb_endpoint: str, localstack: str, moto_endpoint: str
) -> AsyncIterator[Services]:
    async with open_services(_settings(dynamodb_endpoint, localstack, moto_endpoint)) as opened:
        await create_tables(opened.dynamo_client, PREFIX)
        # Our bucket settings, accepted by a second S3 implementation.
        await create_buckets(
            opened.s3_client, BucketSettings(PREFIX, cors_origins=("https://x.example",))
        )
        yield opened


@pytest.fixture
async def api(enforced: Services) -> AsyncIterator[Any]:
    tenant = fresh_tenant("policy")
    await enforced.store.tenants.create(tenant, Model.BRIDGE)
    app = create_app(enforced.settings, enforced)
    headers = {"Authorization": f"Bearer {token(tenant)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as client:

        async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            sent = {"query": query, "variables": variables}
            body: dict[str, Any] = (
                await client.post("/graphql", json=sent, headers=headers)
            ).json()
            assert "errors" not in body, body
            data: dict[str, Any] = body["data"]
            return data

        yield gql


async def _form(ticket: dict[str, Any], body: bytes, **changed: str) -> httpx.Response:
    fields = {**ticket["fields"], **changed}
    async with httpx.AsyncClient() as http:
        return await http.post(
            ticket["url"], data=fields, files={"file": ("a.pdf", body, "application/pdf")}
        )


def _code(response: httpx.Response) -> str:
    return response.text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in response.text else ""


async def test_s3_refuses_uploads_that_break_the_ticket(api: Any, enforced: Services) -> None:
    made = await api('mutation { createCustomer(input: {companyName: "Policy"}) { id } }', {})
    customer = made["createCustomer"]["id"]
    ticket = (await api(TICKET, {"c": customer, "s": len(BODY)}))["requestDocumentUpload"]
    refused = {
        "one byte more": await _form(ticket, BODY + b"!"),
        "one byte less": await _form(ticket, BODY[:-1]),
        "another type": await _form(ticket, BODY, **{"Content-Type": "text/html"}),
        "another key": await _form(ticket, BODY, key=ticket["key"] + "x"),
    }
    seen = {what: (r.status_code, _code(r)) for what, r in refused.items()}
    assert seen == {
        "one byte more": (400, "EntityTooLarge"),
        "one byte less": (400, "EntityTooSmall"),
        "another type": (403, "AccessDenied"),
        "another key": (403, "AccessDenied"),
    }
    listed = await enforced.s3_client.list_objects_v2(
        Bucket=f"{PREFIX}documents", Prefix=ticket["key"]
    )
    assert listed.get("KeyCount", 0) == 0  # none of them stored a byte
    assert (await _form(ticket, BODY)).status_code == 204
    bucket = f"{PREFIX}documents"
    tags = await enforced.s3_client.get_object_tagging(Bucket=bucket, Key=ticket["key"])
    assert tags["TagSet"] == [{"Key": "zebros-state", "Value": "pending"}]  # the policy's
    stripped = await _form(ticket, BODY, tagging="<Tagging><TagSet></TagSet></Tagging>")
    assert (stripped.status_code, _code(stripped)) == (403, "AccessDenied")
    url = (await api(CONFIRM, {"c": customer, "k": ticket["key"]}))["confirmDocumentUpload"]["url"]
    tags = await enforced.s3_client.get_object_tagging(Bucket=bucket, Key=ticket["key"])
    assert tags["TagSet"] == []  # confirmed: kept by the lifecycle from now on
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
        forged = await http.get(_forged(url))
    assert got.content == BODY
    assert (forged.status_code, _code(forged)) == (403, "SignatureDoesNotMatch")


def _forged(url: str) -> str:
    head, _, signature = url.rpartition("X-Amz-Signature=")
    return head + "X-Amz-Signature=" + ("0" if signature[0] != "0" else "1") + signature[1:]


async def test_localstack_takes_a_tampered_policy(enforced: Services) -> None:
    """What LocalStack does not check (README's table): the policy's signature. A
    client that widens content-length-range in the policy gets its upload stored,
    so on LocalStack, as on moto, the confirmation's size check is what holds."""
    objects = Objects(enforced.s3_client)
    key = f"policy/customers/cus_x/documents/doc_t{datetime.now(UTC):%H%M%S%f}/a.pdf"
    ticket = await objects.post_ticket(f"{PREFIX}documents", key, "application/pdf", len(BODY), 60)
    policy = json.loads(base64.b64decode(ticket.fields["policy"]))
    policy["conditions"] = [
        ["content-length-range", 0, 10**6] if isinstance(c, list) else c
        for c in policy["conditions"]
    ]
    widened = base64.b64encode(json.dumps(policy).encode()).decode()
    response = await _form({"url": ticket.url, "fields": ticket.fields}, BODY * 3, policy=widened)
    assert response.status_code == 204


async def test_s3_refuses_an_expired_ticket(enforced: Services) -> None:
    objects = Objects(enforced.s3_client)
    key = f"policy/customers/cus_x/documents/doc_{datetime.now(UTC):%H%M%S%f}/a.pdf"
    ticket = await objects.post_ticket(f"{PREFIX}documents", key, "application/pdf", len(BODY), 1)
    await asyncio.sleep(2.1)
    response = await _form({"url": ticket.url, "fields": ticket.fields}, BODY)
    assert (response.status_code, _code(response)) == (403, "AccessDenied")
    assert "expired" in response.text.lower()


async def test_moto_stores_what_the_policy_forbids(services: Services) -> None:
    """The same breaches against the suite's moto server: all stored (README's table).
    If moto starts to enforce policies, this fails and the table is to be updated."""
    objects = Objects(services.s3_client)
    bucket, stamp = f"{PREFIX}documents", f"{datetime.now(UTC):%H%M%S%f}"
    stored = {}
    for what, body, changed in (
        ("one byte more", BODY + b"!", {}),
        ("another type", BODY, {"Content-Type": "text/html"}),
        ("another key", BODY, {"key": f"policy/moto-{stamp}/other.pdf"}),
    ):
        key = f"policy/moto-{stamp}/{what.replace(' ', '-')}.pdf"
        ticket = await objects.post_ticket(bucket, key, "application/pdf", len(BODY), 60)
        response = await _form({"url": ticket.url, "fields": ticket.fields}, body, **changed)
        stored[what] = response.status_code
    expired = await objects.post_ticket(
        bucket, f"policy/moto-{stamp}/late.pdf", "application/pdf", len(BODY), 1
    )
    await asyncio.sleep(2.1)
    stored["expired"] = (
        await _form({"url": expired.url, "fields": expired.fields}, BODY)
    ).status_code
    assert stored == {"one byte more": 204, "another type": 204, "another key": 204, "expired": 204}
    first = f"policy/moto-{stamp}/one-byte-more.pdf"
    tags = await services.s3_client.get_object_tagging(Bucket=bucket, Key=first)
    assert tags["TagSet"] == []  # moto does not keep the form's tagging either
