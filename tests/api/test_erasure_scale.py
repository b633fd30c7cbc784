"""An erasure of a subject with a long history: its checkpoint stays a few hundred
bytes, however many activities the subject has (DynamoDB holds 400 KB an item;
13,000 activity ids in it failed the erasure for good); the ids it gathered are in
its job files, and they go when it ends."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from dal import ids
from dal.loading import bulk
from dal.models import Activity, ActivityType, Contact, Customer, Entity, Record
from dal.timefmt import utcnow
from jobs.privacy import gathered
from jobs.run import Run
from jobs.worker import Worker
from services import Services
from tests.conftest import Gql, Tenants

# Enough that their ids would be ~100 KB in the checkpoint (the size check below
# fails before the fix); the checkpoint no longer holds ids at all, so the 400 KB
# mark (about 13,000) is no bound either, and the test stays fast.
ACTIVITIES = 3_000
ERASE = """
mutation($id: ID!) {
  requestErasure(subjectKind: CONTACT, subjectId: $id, reason: "asked by e-mail") { id } }"""


class Stop(BaseException):
    """The worker dying once the gather step has checkpointed."""


def _history(contact: Contact) -> list[Record]:
    now = utcnow()
    return [
        Activity(
            id=ids.new_id(Entity.ACTIVITY),
            created_at=now,
            updated_at=now,
            related_id=contact.id,
            related_type=Entity.CONTACT,
            type=ActivityType.CALL,
            subject=f"Call {contact.first_name}",
            scheduled_at=now - timedelta(minutes=n),
        )
        for n in range(ACTIVITIES)
    ]


async def _seed(db: Services, tenant: str) -> Contact:
    now = utcnow()
    customer = Customer(
        id=ids.new_id(Entity.CUSTOMER), created_at=now, updated_at=now, company_name="Longtail"
    )
    contact = Contact(
        id=ids.new_id(Entity.CONTACT), created_at=now, updated_at=now, customer_id=customer.id,
        first_name="Hilde", last_name="Historia", email="hilde@longtail.example",
    )  # fmt: skip
    await bulk.load(db.store.for_tenant(tenant), [customer, contact, *_history(contact)])
    return contact


async def test_the_checkpoint_of_an_erasure_stays_small_whatever_the_subjects_history(
    gql: Gql, worker: Worker, db: Services, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = await _seed(db, tenants.acme)
    job = (await gql(ERASE, {"id": contact.id}))["data"]["requestErasure"]["id"]
    real, runs = Run.checkpoint, list[Run]()

    async def stopping(self: Run, made: Any) -> None:
        await real(self, made)  # the checkpoint written (400 KB would refuse it here)
        runs.append(self)
        raise Stop()

    monkeypatch.setattr(Run, "checkpoint", stopping)
    with pytest.raises(Stop):
        await worker.drain()
    stored = await db.store.for_tenant(tenants.acme).jobs.get(job)
    assert stored is not None
    assert stored.checkpoint["step"] == 1
    assert len(json.dumps(to_jsonable_python(stored.checkpoint))) < 1000
    kept = [i async for chunk in gathered.chunks(runs[0], "activities.jsonl") for i in chunk]
    assert len(kept) == len(set(kept)) == ACTIVITIES
    values = await gathered.values(runs[0], "needles.json")
    assert "hilde@longtail.example" in values["emails"]
    await gathered.forget(runs[0])
    files = db.store.job_files
    assert files is not None
    left = await files.blobs.keys(files.bucket("imports-exports"), gathered.key(runs[0], ""))
    assert left == []
