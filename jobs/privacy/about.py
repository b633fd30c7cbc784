"""The records about an erasure's subject, gathered into the job's files a page at a
time (``gathered.py``): activities about a contact, the files attached to them, the
deals the contact is on, and the deleted records about it (their archived copies).
A user has none of these: the records they own are the tenant's business records.
"""

from __future__ import annotations

from dal.models import Contact, User
from dal.records.activity_query import Window
from dal.timefmt import dump_dt, utcnow
from jobs.privacy import gathered
from jobs.run import Run

PAGE = 500
CHUNK = 100  # attachments whose activities are read in one batch


async def write(run: Run, record: Contact | User) -> None:
    contact = record if isinstance(record, Contact) else None
    await _activities(run, contact.id if contact else None)
    await _documents(run, contact)
    await _opportunities(run, contact.id if contact else None)
    # Deleted records about the subject: their archive copies and change-log entries.
    # The stream consumer writes a copy after its delete: every delete so far first.
    if run.settle is not None:
        await run.settle()
    async with gathered.writer(run, "archived.jsonl") as out:
        for entity, id in await run.repos.archive.records_about(record.id):
            await out.write(gathered.line([entity.value, id]))


async def _activities(run: Run, contact_id: str | None) -> None:
    repos, now, after = run.repos, dump_dt(utcnow()), None
    async with gathered.writer(run, "activities.jsonl") as out:
        while contact_id is not None:
            page = await repos.activities.by_related(contact_id, now, PAGE, after, Window())
            await out.write(b"".join(gathered.line(a.id) for a in page.items))
            if not page.has_next:
                return
            after = page.end_cursor


async def _documents(run: Run, contact: Contact | None) -> None:
    """Files attached to activities about the contact: its customer's files (an
    attachment is its activity's customer's, ``resolvers/documents.py``) whose
    activity is about it; a Query per customer, not one per activity."""
    repos = run.repos
    async with gathered.writer(run, "documents.jsonl") as out:
        if contact is None:
            return
        attached = [
            d for d in await repos.documents.of_customer(contact.customer_id) if d.activity_id
        ]
        for start in range(0, len(attached), CHUNK):
            chunk = attached[start : start + CHUNK]
            activities = await repos.activities.get_many([str(d.activity_id) for d in chunk])
            for doc, activity in zip(chunk, activities, strict=True):
                if activity is not None and activity.related_id == contact.id:
                    await out.write(gathered.line(doc.id))


async def _opportunities(run: Run, contact_id: str | None) -> None:
    after = None
    async with gathered.writer(run, "opportunities.jsonl") as out:
        while contact_id is not None:
            page = await run.repos.opportunities.by_contact(contact_id, PAGE, after)
            for deal in page.items:
                await out.write(gathered.line(deal.id))
            if not page.has_next:
                return
            after = page.end_cursor
