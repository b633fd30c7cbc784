"""`server.lambda_handler` fed the event payloads API Gateway sends (AWS's samples,
tests/lambda_events/), against DynamoDB Local and the moto S3, as Lambda runs it:
one thread, one container, invocation after invocation."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.applications import Starlette

from auth import Principal
from aws_lambda import JobsLambda, LambdaApp
from dal.jobs.queue import body
from dal.jobs.records import Job, JobKind, JobStatus, new_id
from dal.models import Role
from dal.timefmt import utcnow
from resolvers.users import from_principal
from server import create_app
from services import Services
from settings import Settings
from tests.conftest import Tenants, token

EVENTS = Path(__file__).resolve().parents[1] / "lambda_events"
ME = "{ me { id role } }"
Invoke = Callable[[dict[str, Any]], Any]


def _sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def http_api(
    method: str, path: str, *, query: str = "", body: bytes = b"", b64: bool = False, **headers: str
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event: AWS's sample with this request in it."""
    event = copy.deepcopy(_sample("http_api_v2.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = query
    event["headers"].update({k.replace("_", "-"): v for k, v in headers.items()})
    event["body"] = base64.b64encode(body).decode() if b64 else body.decode()
    event["isBase64Encoded"] = b64
    return event


def rest_api(
    method: str,
    path: str,
    *,
    body: bytes = b"",
    b64: bool = False,
    multi: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A REST API (payload format 1.0) event, with multi-value headers."""
    event = copy.deepcopy(_sample("rest_api_v1.json"))
    event["path"] = event["resource"] = event["requestContext"]["resourcePath"] = path
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    for name, values in (multi or {}).items():
        event["multiValueHeaders"][name] = values
        event["headers"][name] = values[-1]
    event["body"] = base64.b64encode(body).decode() if b64 else body.decode()
    event["isBase64Encoded"] = b64
    return event


@pytest.fixture
async def invoke(db: Services, settings: Settings) -> AsyncIterator[Invoke]:
    """A handler made as Lambda makes it, invoked on one thread (a container's)."""
    built: list[Services] = []

    def app(given: Settings, opened: Services) -> Starlette:
        built.append(opened)
        return create_app(given, opened, ide=False)

    handler = LambdaApp(app, lambda: settings)
    thread = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()

    async def call(event: dict[str, Any]) -> Any:
        return await loop.run_in_executor(thread, handler, event, None)

    yield call
    assert len(built) == 1  # the clients, opened once for every invocation of the container
    await loop.run_in_executor(thread, handler.close)
    thread.shutdown()


def _body(response: dict[str, Any]) -> Any:
    raw = response["body"]
    return json.loads(base64.b64decode(raw) if response.get("isBase64Encoded") else raw)


async def test_http_api_post_and_base64_post(invoke: Invoke, tenants: Tenants) -> None:
    bearer = f"Bearer {token(tenants.acme)}"
    sent = json.dumps({"query": ME}).encode()
    for b64 in (False, True):
        response = await invoke(
            http_api("POST", "/graphql", body=sent, b64=b64, authorization=bearer)
        )
        assert response["statusCode"] == 200, response
        assert response["headers"]["content-type"].startswith("application/json")
        assert response["headers"]["x-request-id"]
        assert _body(response) == {"data": {"me": {"id": "u-admin", "role": "ADMIN"}}}


async def test_http_api_get_query_carries_its_etag(invoke: Invoke, tenants: Tenants) -> None:
    bearer = f"Bearer {token(tenants.acme)}"
    query = "query=" + quote("{ customers(first: 1) { edges { node { id } } } }")
    response = await invoke(http_api("GET", "/graphql", query=query, authorization=bearer))
    assert response["statusCode"] == 200, response
    assert _body(response) == {"data": {"customers": {"edges": []}}}
    etag = response["headers"]["etag"]
    again = http_api("GET", "/graphql", query=query, authorization=bearer, if_none_match=etag)
    assert (await invoke(again))["statusCode"] == 304


async def test_rest_api_multi_value_headers_and_base64(invoke: Invoke, tenants: Tenants) -> None:
    multi = {
        "Authorization": [f"Bearer {token(tenants.acme)}"],
        "Accept": ["text/plain", "application/json"],
        "X-Request-Id": ["rest-sample-1"],
    }
    sent = json.dumps({"query": ME}).encode()
    for b64 in (False, True):
        response = await invoke(rest_api("POST", "/graphql", body=sent, b64=b64, multi=multi))
        assert response["statusCode"] == 200, response
        # Mangum answers a REST event with single values in headers, repeated ones
        # in multiValueHeaders.
        single = {k.lower(): [v] for k, v in response["headers"].items()}
        repeated = {k.lower(): v for k, v in response.get("multiValueHeaders", {}).items()}
        assert (single | repeated)["x-request-id"] == ["rest-sample-1"]
        assert _body(response)["data"]["me"]["id"] == "u-admin"


async def test_refusals_and_routes_through_the_gateway(invoke: Invoke) -> None:
    unauthenticated = await invoke(rest_api("POST", "/graphql", body=b'{"query": "{ me { id } }"}'))
    assert unauthenticated["statusCode"] == 401
    assert _body(unauthenticated)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    health = await invoke(rest_api("GET", "/healthz"))
    assert (health["statusCode"], _body(health)) == (200, {"status": "ok"})
    ide = await invoke(http_api("GET", "/graphql", accept="text/html"))
    assert ide["statusCode"] == 404  # no GraphiQL in the Lambda, even in dev


async def test_the_jobs_handler_runs_a_queued_job_from_an_sqs_event(
    db: Services, settings: Settings, tenants: Tenants
) -> None:
    """`server.jobs_handler` on an SQS event (the record shape Lambda delivers): the job
    runs; a record for a job another worker holds comes back as a batch item failure."""
    repos = db.store.for_tenant(tenants.acme)
    await repos.users.ensure(
        from_principal(Principal(tenants.acme, "u-admin", Role.ADMIN, "a", "a@b.co"))
    )
    made = [
        Job(id=new_id(), kind=JobKind.EXPORT, status=JobStatus.QUEUED, actor="u-admin",
            role="ADMIN", created_at=utcnow(), params={"entity": "CUSTOMER", "format": "CSV"})
        for _ in range(2)
    ]  # fmt: skip
    for job in made:
        await repos.jobs.create(job)
    await repos.jobs.claim(made[1], "another-worker", 60)  # held elsewhere
    event = {
        "Records": [
            {"messageId": f"m-{n}", "receiptHandle": "r", "body": body(tenants.acme, j.id),
             "eventSource": "aws:sqs"}
            for n, j in enumerate(made)
        ]
    }  # fmt: skip
    handler = JobsLambda(lambda: settings)
    thread = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()
    try:
        answer = await loop.run_in_executor(thread, handler, event, None)
    finally:
        await loop.run_in_executor(thread, handler.close)
        thread.shutdown()
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    done = await repos.jobs.get(made[0].id)
    assert done is not None
    assert (done.status, done.result_key is not None) == (JobStatus.SUCCEEDED, True)
