"""An erasure (right to be forgotten): the subject's personal data out of every store.

Steps, each safe to run again (a resumed job redoes the step it was in; a store
that is away makes the job's message come back, and the run resumes there):

1. gather: the subject, what is about it, and every value it held (its record
   now and each state the change log still has): the needles.
2. the suppression list: the subject's addresses, hashed, first, so that no
   import brings the person back while the rest runs.
3. files attached to activities about the subject: every S3 version, and the
   document records (a DELETE reaches every device).
4. activities about the subject: subject line and description anonymised.
5. opportunities on the subject: its names taken out of titles; value, stage
   and the link to the (now erased) contact stay: business facts.
6. the record: a contact anonymised in place, out of every list and every
   device (a DELETE in the change log); a user anonymised (their records keep
   their owner).
7. the change log, stored answers (receipts), the archive and job records:
   the copies blanked and scrubbed in place; audit events keep who, what, when.
8. job files (imports, exports, earlier privacy exports, rejected rows): every
   S3 version that holds the subject's id, address, number or full name.
9. Redis: every cached value of the tenant deleted, its epoch bumped.

Needles come in two widths. Everything about the subject (its own snapshots,
its activities, deals, files, archived copies) is scrubbed of every value it
held; what is the whole tenant's (receipts, job records, job files) only of
what names the subject alone (id, e-mail, phone, username, full name), and of
the personal fields of any object whose id is the subject's: a first name on
its own would hit other people.

The needles and the ids gathered live in S3 under the job's files while it runs
(``gathered.py``: a subject's history may name more ids than a DynamoDB item holds),
so a resumed run finds what the first run already scrubbed; they are deleted when
the job finishes. The checkpoint holds the step and the receipt only.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from dal.errors import Erased, NotFound
from dal.jobs.records import Progress
from dal.models import Activity, Contact, Entity, Opportunity, Record, User
from dal.privacy.scrub import MARK, Scrubber, needles_of
from dal.privacy.subject import SubjectKind, record_of
from dal.records.repo import Repo
from dal.timefmt import dump_dt, utcnow
from jobs.privacy import about, gathered
from jobs.privacy.subject import public
from jobs.run import JobError, Run

State = dict[str, Any]
R = TypeVar("R", bound=Record)
# What the change log's snapshots of each kind of record get in place of personal
# fields (None: the field goes), before the needles are scrubbed from the rest.
GONE = dict.fromkeys(("email", "phone", "position", "details", "lastContactedAt"))
BLANKS: dict[str, dict[str, Any]] = {
    "CONTACT": {"firstName": "Erased", "lastName": "Contact", **GONE},
    "USER": {"username": MARK, "email": MARK, "preferences": None},
    "ACTIVITY": {"subject": MARK, "description": None},
    "DOCUMENT": {"name": MARK, "key": MARK},
}
# The fields of the subject's record a stored answer may echo (``Scrubber``'s personal).
PERSONAL = ("firstName", "lastName", "email", "phone", "position", "details", "username",
            "preferences")  # fmt: skip
# The fields of a record (snapshot, archived copy) whose text is searched: free text
# and personal values, never an enum ("LEAD") or an id.
FREE_TEXT = frozenset({*PERSONAL, "title", "subject", "description", "name", "key"})
# Reports hold counts and sums, templates the tenant's own text: only job files are swept.
SWEPT = ("imports-exports",)
BACKUPS_NOTE = "not rewritten: backups expire by their lifecycle rule (35 days)"


def _done(state: State, store: str, action: str, items: int) -> None:
    state.setdefault("receipt", []).append({"store": store, "action": action, "items": items})


async def _gather(run: Run, state: State) -> None:
    repos, params = run.repos, run.job.params
    if await repos.archive.on_hold():
        raise JobError("the tenant is under legal hold: nothing may be erased until it is lifted")
    kind = SubjectKind(params["subjectKind"])
    record = await record_of(repos, kind, params["subjectId"])
    if record is None:
        raise JobError(f"{kind.value.lower()} {params['subjectId']} does not exist")
    # Broad needles (every value) for what is about the subject; narrow ones (the id,
    # addresses, numbers, the full name) for what is the whole tenant's: a receipt, a
    # file, a job record, where a first name alone would hit other people.
    needles, narrow, emails = set[str](), set[str](), set[str]()
    async for states in _states(run, record):
        for s in states:
            needles |= _values(kind, s)
            narrow |= _distinct(s)
            emails |= {str(s["email"])} if s.get("email") else set()
    sets = {"needles": needles, "narrow": narrow, "emails": emails}
    await gathered.put_values(run, "needles.json", {k: sorted(v) for k, v in sets.items()})
    await about.write(run, record)


async def _states(run: Run, record: Record) -> AsyncIterator[list[dict[str, Any]]]:
    """The record now, then each state the change log still has, a page at a time."""
    yield [public(run.repos, record)]
    async for page in run.repos.eraser.history(record.id):
        yield page


def _distinct(state: dict[str, Any]) -> set[str]:
    """The values that name the subject alone (their full name, not a first name)."""
    if state.get("erasedAt"):
        return set()
    name = f"{state.get('firstName', '')} {state.get('lastName', '')}".strip()
    return needles_of([state.get("email"), state.get("phone"), state.get("username"), name])


def _values(kind: SubjectKind, state: dict[str, Any]) -> set[str]:
    """The personal values of one state of the record (never ids, times or roles)."""
    if kind is SubjectKind.USER:
        return needles_of([state.get("username"), state.get("email"), state.get("preferences")])
    if state.get("erasedAt"):
        return set()
    name = f"{state.get('firstName', '')} {state.get('lastName', '')}".strip()
    personal = ("firstName", "lastName", "email", "phone", "position", "details")
    return needles_of([name, *(state.get(f) for f in personal)])


async def _files(run: Run, state: State) -> None:
    repos, deleted, versions = run.repos, 0, 0
    async for ids in gathered.chunks(run, "documents.jsonl"):
        for id in ids:
            doc = await repos.documents.get(id)
            if doc is None:
                continue  # deleted by an earlier run of this step
            versions += await run.files.blobs.purge(run.files.bucket(doc.kind.value), doc.key)
            await _gone(repos.documents.delete(doc.id))
            deleted += 1
    _done(state, "s3:documents+attachments", "deleted in every version", versions)
    _done(state, "dynamodb:Documents", "deleted (a DELETE reaches every device)", deleted)


async def _gone(write: Awaitable[object]) -> None:
    with contextlib.suppress(NotFound, Erased):  # gone or erased meanwhile: as wanted
        await write


async def _rewritten(run: Run, repo: Repo[R], name: str, change: Callable[[R], R]) -> int:
    """Each record of a gathered set through ``change``, written where it changes
    anything; how many."""
    changed = 0
    async for ids in gathered.chunks(run, name):
        for current in await repo.get_many(ids):
            if current is not None and change(current) != current:
                await _gone(repo.update(current.id, change))
                changed += 1
    return changed


async def _activities(run: Run, state: State) -> None:
    def anonymised(a: Activity) -> Activity:
        return replace(a, subject=MARK, description=None)

    changed = await _rewritten(run, run.repos.activities, "activities.jsonl", anonymised)
    _done(state, "dynamodb:Activities", "subject and description anonymised", changed)


async def _opportunities(run: Run, state: State) -> None:
    scrub = Scrubber((await gathered.values(run, "needles.json"))["needles"])

    def scrubbed(o: Opportunity) -> Opportunity:
        return replace(o, title=scrub.text(o.title))

    changed = await _rewritten(run, run.repos.opportunities, "opportunities.jsonl", scrubbed)
    _done(state, "dynamodb:Opportunities", "names taken out of titles (amounts kept)", changed)


async def _record(run: Run, state: State) -> None:
    repos, id = run.repos, run.job.params["subjectId"]
    if run.job.params["subjectKind"] == SubjectKind.CONTACT.value:
        contact = await repos.contacts.get(id)
        if contact is not None and contact.erased_at is None:
            await _gone(repos.contacts.update(id, _erased_contact))
        _done(state, "dynamodb:Contacts", "anonymised, out of every list and device", 1)
        return
    user = await repos.users.get(id)
    if user is not None and not user.username.startswith("erased-"):
        await _gone(repos.users.update(id, _erased_user))
    _done(state, "dynamodb:Users", "username, e-mail and preferences anonymised", 1)


def _erased_contact(c: Contact) -> Contact:
    return replace(
        c, first_name="Erased", last_name="Contact", email=None, phone=None, position=None,
        details=None, last_contacted_at=None, erased_at=utcnow(),
    )  # fmt: skip


def _erased_user(u: User) -> User:
    return replace(
        u, username=f"erased-{u.id}", email=f"erased-{u.id}@erased.invalid", preferences=None
    )


async def _copies(run: Run, state: State) -> None:
    eraser, subject = run.repos.eraser, run.job.params["subjectId"]
    needles = await gathered.values(run, "needles.json")
    scrub = Scrubber(needles["needles"], [subject], PERSONAL, only=FREE_TEXT)
    narrow = Scrubber(needles["narrow"], [subject], PERSONAL)
    scrubbed = await eraser.scrub_log({subject: BLANKS[run.job.params["subjectKind"]]}, scrub)
    for name, blank in LOGGED.items():
        async for ids in gathered.chunks(run, name):
            scrubbed += await eraser.scrub_log(dict.fromkeys(ids, blank), scrub)
    async for pairs in gathered.chunks(run, "archived.jsonl"):
        archived = {id: BLANKS.get(Entity(entity).name, {}) for entity, id in pairs}
        scrubbed += await eraser.scrub_log(archived, scrub)
    _done(state, "dynamodb:Changes (change log)", "snapshots scrubbed; events keep the fact",
          scrubbed)  # fmt: skip
    _done(state, "dynamodb:Changes (receipts)", "stored answers scrubbed",
          await eraser.scrub_receipts(narrow))  # fmt: skip
    by_entity = {e.value: BLANKS.get(e.name, {}) for e in Entity}
    _done(state, "dynamodb:Archive", "archived copies blanked and scrubbed",
          await eraser.scrub_archive(subject, scrub, by_entity))  # fmt: skip
    _done(state, "dynamodb:Jobs", "job records scrubbed", await eraser.scrub_jobs(narrow))


# The gathered sets whose records' change-log snapshots are blanked so, then scrubbed.
LOGGED: dict[str, dict[str, Any]] = {
    "activities.jsonl": BLANKS["ACTIVITY"],
    "opportunities.jsonl": {},
    "documents.jsonl": BLANKS["DOCUMENT"],
}


async def _job_files(run: Run, state: State) -> None:
    # A file is searched for the subject's id too (an export's row holds it): no
    # business link can break there, the file goes. Listed a page at a time, each
    # file read a chunk at a time (``gathered.holds``).
    narrow = (await gathered.values(run, "needles.json"))["narrow"]
    scrub, tenant = Scrubber([*narrow, run.job.params["subjectId"]]), run.repos.scope.tenant_id
    for purpose in SWEPT:
        bucket, deleted = run.files.bucket(purpose), 0
        async for page in run.files.blobs.version_pages(bucket, f"{tenant}/"):
            for key, version, marker in page:
                if marker or gathered.own(run, key):
                    continue
                if await gathered.holds(run.files, scrub, bucket, key, version):
                    await run.files.blobs.objects.delete(bucket, key, version)
                    deleted += 1
        _done(state, f"s3:{purpose}", "versions holding the subject's values deleted", deleted)
    _done(state, "s3:backups", BACKUPS_NOTE, 0)


async def _cache(run: Run, state: State) -> None:
    cache = run.repos.cache
    forgotten = 0 if cache is None else await cache.forget(run.repos.scope.tenant_id)
    _done(state, "redis", "every cached value of the tenant deleted, epoch bumped", forgotten)


async def _suppress(run: Run, state: State) -> None:
    emails = (await gathered.values(run, "needles.json"))["emails"]
    for email in emails:
        await run.repos.suppressions.add(email, run.job.id)
    _done(state, "dynamodb:Suppressions", "e-mail addresses added, hashed", len(emails))


STEPS: tuple[Callable[[Run, State], Awaitable[None]], ...] = (
    _gather, _suppress, _files, _activities, _opportunities, _record, _copies, _job_files, _cache,
)  # fmt: skip


async def run_erasure(run: Run) -> dict[str, Any]:
    """Every step from the checkpoint on; the receipt."""
    state: State = dict(run.job.checkpoint)
    for n in range(int(state.get("step", 0)), len(STEPS)):
        await STEPS[n](run, state)
        state["step"] = n + 1
        await run.checkpoint(Progress(n + 1, 0, state, len(STEPS)))
    await gathered.forget(run)
    subject = {"kind": run.job.params["subjectKind"], "id": run.job.params["subjectId"]}
    return {
        "subject": subject,
        "stores": state.get("receipt", []),
        "completedAt": dump_dt(utcnow()),
    }
