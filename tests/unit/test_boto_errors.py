import asyncio
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from dal.boto_errors import DYNAMODB, S3, SQS, Codes, translated
from dal.errors import (
    ConditionFailed,
    DalError,
    InvalidRequest,
    InvalidUpload,
    NotFound,
    StoreUnavailable,
    Throttled,
    TransactionCancelled,
)


def _raised(codes: Codes, error: Exception) -> DalError:
    async def call() -> None:
        async with translated(codes, "Op"):
            raise error

    with pytest.raises(DalError) as caught:
        asyncio.run(call())
    assert caught.value.__cause__ is error
    return caught.value


def _client_error(code: str, **extra: Any) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}, **extra}
    return ClientError(response, "Op")


def test_dynamodb_codes() -> None:
    failed = _raised(
        DYNAMODB, _client_error("ConditionalCheckFailedException", Item={"a": {"S": "b"}})
    )
    assert isinstance(failed, ConditionFailed)
    assert failed.item == {"a": "b"}
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": {"v": {"N": "2"}}}]
    cancelled = _raised(
        DYNAMODB, _client_error("TransactionCanceledException", CancellationReasons=reasons)
    )
    assert isinstance(cancelled, TransactionCancelled)
    assert cancelled.reasons == ["None", "ConditionalCheckFailed"]
    assert cancelled.items == [None, {"v": 2}]
    conflict = _raised(DYNAMODB, _client_error("TransactionConflictException"))
    assert isinstance(conflict, TransactionCancelled)
    assert conflict.reasons == ["TransactionConflict"]
    assert isinstance(_raised(DYNAMODB, _client_error("ThrottlingException")), Throttled)
    assert isinstance(_raised(DYNAMODB, _client_error("ValidationException")), InvalidRequest)
    missing = _raised(DYNAMODB, _client_error("ResourceNotFoundException"))
    assert isinstance(missing, StoreUnavailable)
    assert "zebros init" in str(missing)
    assert type(_raised(DYNAMODB, _client_error("InternalServerError"))) is StoreUnavailable


def test_s3_and_sqs_codes() -> None:
    assert isinstance(_raised(S3, _client_error("NoSuchKey")), NotFound)
    refused = _raised(S3, _client_error("EntityTooSmall"))
    assert isinstance(refused, InvalidUpload)
    assert refused.field == "parts"
    assert type(_raised(S3, _client_error("AccessDenied"))) is StoreUnavailable
    assert type(_raised(SQS, _client_error("NoSuchKey"))) is StoreUnavailable


def test_no_answer_is_unavailable() -> None:
    error = EndpointConnectionError(endpoint_url="http://nowhere")
    for codes in (DYNAMODB, S3, SQS):
        assert type(_raised(codes, error)) is StoreUnavailable
