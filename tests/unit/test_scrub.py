"""The scrubber: whole words in any case, as JSON escapes them too; an object that is
the subject's loses its personal fields wherever it sits; enums and ids stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dal.errors import NotFound, StoreUnavailable, Throttled
from dal.jobs.records import Job, JobKind, JobStatus
from dal.privacy.scrub import MARK, Scrubber, needles_of
from jobs.worker import PRIVACY_RUNS, _comes_back

SUBJECT = "con_01"


def test_needles_are_whole_words_in_any_case() -> None:
    scrub = Scrubber(["Ann Lee", "ann@example.org", "Li"])  # "Li": too short to search
    assert scrub.text("Call ANN LEE about ann@example.org") == f"Call {MARK} about {MARK}"
    assert scrub.text("Annual review with Li") == "Annual review with Li"
    assert not scrub.found_in("Lee Annson")


def test_json_escaped_values_are_found_in_files() -> None:
    body = json.dumps({"firstName": "José Núñez"}).encode()  # "Jos\\u00e9 N\\u00fa\\u00f1ez"
    assert Scrubber(["José Núñez"]).bytes_hold(body)
    assert not Scrubber(["José Nuñez"]).bytes_hold(body)


def test_an_object_of_the_subject_loses_its_personal_fields_even_inside_a_json_string() -> None:
    answer = {"id": SUBJECT, "firstName": "Ann", "position": "CFO", "customerId": "cus_1"}
    stored = {"status": 200, "body": json.dumps({"data": {"updateContact": answer}})}
    scrub = Scrubber([], [SUBJECT], ["firstName", "position"])
    out = scrub.value(stored)
    inner = json.loads(out["body"])["data"]["updateContact"]
    assert inner == {"id": SUBJECT, "firstName": MARK, "position": MARK, "customerId": "cus_1"}
    other = {"id": "con_02", "firstName": "Ann"}
    assert scrub.value(other) == other
    assert scrub.value({"id": ["not", "a", "string"], "firstName": "Ann"})["firstName"] == "Ann"


def test_a_record_keeps_its_enums_and_ids_whatever_the_needles_spell() -> None:
    deal = {"id": "opp_1", "stage": "LEAD", "contactId": SUBJECT, "title": "Lead for Ann Lee"}
    scrub = Scrubber(["Lead", "Ann Lee", SUBJECT], only={"title"})
    assert scrub.record(deal) == {**deal, "title": f"{MARK} for {MARK}"}
    assert needles_of({"a": [" Ann ", "x", {"b": "Lee Ltd"}]}) == {"Ann", "Lee Ltd"}


def _job(kind: JobKind, attempts: int) -> Job:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    return Job(id="job_1", kind=kind, status=JobStatus.RUNNING, params={}, actor="u",
               role="ADMIN", created_at=now, attempts=attempts)  # fmt: skip


def test_only_a_privacy_request_that_met_a_store_failure_goes_again_and_not_for_ever() -> None:
    assert _comes_back(_job(JobKind.PRIVACY, 1), StoreUnavailable("s3"))
    assert _comes_back(_job(JobKind.PRIVACY, PRIVACY_RUNS - 1), Throttled("ddb"))
    assert not _comes_back(_job(JobKind.PRIVACY, PRIVACY_RUNS), StoreUnavailable("s3"))
    assert not _comes_back(_job(JobKind.PRIVACY, 1), NotFound("con_1"))  # not transient
    assert not _comes_back(_job(JobKind.IMPORT, 1), StoreUnavailable("s3"))
