"""`server.uploads_handler` fed S3's ObjectCreated notification (AWS's sample event,
tests/lambda_events/s3_put.json, naming a real upload), against DynamoDB Local and
the moto S3, as Lambda runs it: one thread, one container."""

from __future__ import annotations

import asyncio
import copy
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from aws_lambda import UploadsLambda
from services import Services
from settings import Settings
from tests.api.test_documents import DOCUMENTS, customer, data, post, ticket
from tests.conftest import PREFIX, Gql

SAMPLE = Path(__file__).resolve().parents[1] / "lambda_events" / "s3_put.json"


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    """AWS's sample, naming this object: S3 sends keys URL-encoded (a space is +)."""
    event: dict[str, Any] = copy.deepcopy(json.loads(SAMPLE.read_text()))
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = bucket
    record["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["object"]["key"] = quote_plus(key, safe="/")
    return event


async def test_an_s3_notification_confirms_the_upload(
    gql: Gql, db: Services, settings: Settings
) -> None:
    c = await customer(gql)
    body = b"%PDF scanned by a copier"
    t = await ticket(gql, c, "scan 02.pdf", body)
    assert (await post(t, body)).status_code in (200, 201, 204)
    assert data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"] == []  # PENDING
    event = s3_event(PREFIX + "documents", t["key"])
    stray = s3_event(PREFIX + "documents", "someone/else.txt")
    handler = UploadsLambda(lambda: settings)
    thread = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()
    try:
        first = await loop.run_in_executor(thread, handler, event, None)
        again = await loop.run_in_executor(thread, handler, event, None)  # at least once
        skipped = await loop.run_in_executor(thread, handler, stray, None)
    finally:
        await loop.run_in_executor(thread, handler.close)
        thread.shutdown()
    assert (first, again, skipped) == ({"confirmed": [t["key"]]},) * 2 + ({"confirmed": []},)
    listed = data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"]
    assert [(d["key"], d["name"], d["size"]) for d in listed] == [
        (t["key"], "scan 02.pdf", len(body))
    ]
