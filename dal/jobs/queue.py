"""The job queue: SQS (moto's in tests and embedded mode, AWS's in production).

A message names a job (tenant and id) and nothing else: what to do is in the
job's record, so a message delivered twice, or late, does no harm (the worker
claims the record before it works; ``dal/jobs/records.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dal.boto_errors import SQS, translated

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient


@dataclass(frozen=True, slots=True)
class Message:
    tenant: str
    job_id: str
    receipt: str  # SQS's handle: deleting it acknowledges the message


def body(tenant: str, job_id: str) -> str:
    return json.dumps({"tenant": tenant, "job": job_id}, separators=(",", ":"))


def parse(raw: str, receipt: str = "") -> Message | None:
    """A message of ours, or None (anything else on the queue is dropped, not run)."""
    try:
        given = json.loads(raw)
        return Message(str(given["tenant"]), str(given["job"]), receipt)
    except (ValueError, KeyError, TypeError):
        return None


class Queue:
    def __init__(self, client: SQSClient, url: str) -> None:
        self.client, self.url = client, url

    @classmethod
    async def named(cls, client: SQSClient, name: str, visibility_s: int) -> Queue:
        """The queue ``name``, created if missing (CreateQueue is idempotent)."""
        attributes: Any = {"VisibilityTimeout": str(visibility_s)}
        async with translated(SQS, "SQS CreateQueue"):
            made = await client.create_queue(QueueName=name, Attributes=attributes)
        return cls(client, made["QueueUrl"])

    async def send(self, tenant: str, job_id: str) -> None:
        async with translated(SQS, "SQS SendMessage"):
            await self.client.send_message(QueueUrl=self.url, MessageBody=body(tenant, job_id))

    async def receive(self, most: int = 10, wait_s: int = 0) -> list[Message]:
        async with translated(SQS, "SQS ReceiveMessage"):
            out = await self.client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=most, WaitTimeSeconds=wait_s
            )
        got = [
            parse(m.get("Body", ""), m.get("ReceiptHandle", "")) for m in out.get("Messages", [])
        ]
        return [m for m in got if m is not None]

    async def delete(self, message: Message) -> None:
        async with translated(SQS, "SQS DeleteMessage"):
            await self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt)
