"""Documents and attachments: tickets from the API, bytes straight to S3 (the moto
server over HTTP), exactly as a browser or curl would send them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

import httpx

from dal.models import Role
from dal.storage.events import confirm_created
from dal.storage.objects import Download, Objects
from services import Services
from tests.conftest import PREFIX, Gql, Tenants
from tests.support import RequestLog, codes

CUSTOMER = "mutation($n: String!) { createCustomer(input: {companyName: $n}) { id } }"
ACTIVITY = """
mutation($r: ID!) { createActivity(input: {relatedId: $r, type: EMAIL, subject: "mail"}) { id } }"""
CONTACT = """
mutation($c: ID!) {
  createContact(input: {customerId: $c, firstName: "A", lastName: "B"}) { id }
}"""
REQUEST = """
mutation($c: ID!, $n: String!, $t: String!, $s: Int!, $a: ID) {
  requestDocumentUpload(customerId: $c, fileName: $n, contentType: $t, size: $s, activityId: $a) {
    key url fields expiresAt
  }
}"""
CONFIRM = """
mutation($c: ID!, $k: String!) {
  confirmDocumentUpload(customerId: $c, key: $k) {
    id key name size contentType status lastModified url
  }
}"""
DELETE = "mutation($c: ID!, $k: String!) { deleteDocument(customerId: $c, key: $k) }"
DOCUMENTS = "query($c: ID!) { customer(id: $c) { documents { id key name size url } } }"
ATTACHMENTS = "query($a: ID!) { activity(id: $a) { attachments { id key name } } }"
START = """
mutation($c: ID!, $n: String!, $t: String!, $s: Int!) {
  startMultipartUpload(customerId: $c, fileName: $n, contentType: $t, size: $s) {
    key uploadId partSize expiresAt parts { partNumber url }
  }
}"""
COMPLETE = """
mutation($c: ID!, $k: String!, $u: String!, $p: [CompletedPart!]!) {
  completeMultipartUpload(customerId: $c, key: $k, uploadId: $u, parts: $p) { id size status url }
}"""
ABORT = """
mutation($c: ID!, $k: String!, $u: String!) {
  abortMultipartUpload(customerId: $c, key: $k, uploadId: $u)
}"""
DELETE_CUSTOMER = "mutation($c: ID!) { deleteCustomer(id: $c) }"
MIB = 1024 * 1024


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body
    return body["data"]


async def customer(gql: Gql, name: str = "Files Inc", **who: Any) -> str:
    return str(data(await gql(CUSTOMER, {"n": name}, **who))["createCustomer"]["id"])


async def ticket(
    gql: Gql, c: str, name: str, body: bytes, kind: str = "application/pdf", **extra: Any
) -> dict[str, Any]:
    variables = {"c": c, "n": name, "t": kind, "s": len(body), **extra}
    found: dict[str, Any] = data(await gql(REQUEST, variables))["requestDocumentUpload"]
    return found


async def post(t: dict[str, Any], body: bytes, kind: str = "application/pdf") -> httpx.Response:
    """The browser's form upload: the ticket's fields first, the file last."""
    async with httpx.AsyncClient() as http:
        return await http.post(t["url"], data=t["fields"], files={"file": ("f", body, kind)})


async def upload(gql: Gql, c: str, name: str, body: bytes, **extra: Any) -> dict[str, Any]:
    t = await ticket(gql, c, name, body, **extra)
    assert (await post(t, body)).status_code in (200, 201, 204)
    confirmed: dict[str, Any] = data(await gql(CONFIRM, {"c": c, "k": t["key"]}))[
        "confirmDocumentUpload"
    ]
    return confirmed


async def download(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def versions(services: Services, key: str, bucket: str = "documents") -> list[Any]:
    out = await services.s3_client.list_object_versions(Bucket=PREFIX + bucket, Prefix=key)
    return [*out.get("Versions", []), *out.get("DeleteMarkers", [])]


async def test_upload_confirm_list_download_delete(
    gql: Gql, tenants: Tenants, db: Services
) -> None:
    c = await customer(gql)
    assert data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"] == []
    body = b"%PDF-1.7 quarterly figures"
    t = await ticket(gql, c, "Q3 report (final).pdf", body)
    assert t["key"].startswith(f"{tenants.acme}/customers/{c}/documents/doc_")
    assert t["key"].endswith("/Q3 report (final).pdf")
    assert t["fields"]["key"] == t["key"]
    assert t["fields"]["Content-Type"] == "application/pdf"
    assert data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"] == []  # PENDING
    assert (await post(t, body)).status_code == 204
    doc = data(await gql(CONFIRM, {"c": c, "k": t["key"]}))["confirmDocumentUpload"]
    assert (doc["status"], doc["size"], doc["name"]) == (
        "AVAILABLE",
        len(body),
        "Q3 report (final).pdf",
    )
    again = data(await gql(CONFIRM, {"c": c, "k": t["key"]}))["confirmDocumentUpload"]
    assert again["id"] == doc["id"]  # a repeated confirm is the same document
    listed = data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"]
    assert [d["id"] for d in listed] == [doc["id"]]
    got = await download(listed[0]["url"])
    assert got.status_code == 200
    assert got.content == body
    assert "attachment;" in got.headers["content-disposition"]
    assert "filename*=UTF-8''Q3%20report%20%28final%29.pdf" in got.headers["content-disposition"]
    assert data(await gql(DELETE, {"c": c, "k": t["key"]}))["deleteDocument"] is True
    assert data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"] == []
    assert codes(await gql(DELETE, {"c": c, "k": t["key"]})) == ["NOT_FOUND"]
    # Versioned bucket: a delete marker on top, the bytes kept as a noncurrent version,
    # tagged for the lifecycle's retention.
    kept = await versions(db, t["key"])
    assert sorted("Size" in v for v in kept) == [False, True]
    (version,) = [v["VersionId"] for v in kept if "Size" in v]
    tags = await db.s3_client.get_object_tagging(
        Bucket=PREFIX + "documents", Key=t["key"], VersionId=version
    )
    assert tags["TagSet"] == [{"Key": "zebros-state", "Value": "deleted"}]


def _policy(t: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(t["fields"]["policy"]))
    return policy


async def test_the_ticket_pins_key_type_size_and_tag(gql: Gql) -> None:
    c = await customer(gql)
    for name in ("plain.pdf", "${filename}"):
        t = await ticket(gql, c, name, b"12345")
        conditions = _policy(t)["conditions"]
        assert {"key": t["key"]} in conditions, conditions  # exact, never starts-with
        assert not [x for x in conditions if isinstance(x, list) and x[0] == "starts-with"]
        assert {"Content-Type": "application/pdf"} in conditions
        assert ["content-length-range", 5, 5] in conditions
        assert any(isinstance(x, dict) and "tagging" in x for x in conditions)


async def test_the_download_is_the_confirmed_version(gql: Gql, db: Services) -> None:
    """A ticket used again after confirmation cannot swap the bytes a URL serves."""
    c = await customer(gql)
    first, swapped = b"original bytes", b"replaced bytes"
    t = await ticket(gql, c, "contract.pdf", first)
    await post(t, first)
    doc = data(await gql(CONFIRM, {"c": c, "k": t["key"]}))["confirmDocumentUpload"]
    await post(t, swapped)  # same length, same type: within the ticket
    assert (await download(doc["url"])).content == first
    listed = data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"]
    assert (await download(listed[0]["url"])).content == first


async def test_attachments_list_on_their_activity_and_their_customer(gql: Gql) -> None:
    c = await customer(gql)
    contact = data(await gql(CONTACT, {"c": c}))["createContact"]["id"]
    activity = data(await gql(ACTIVITY, {"r": contact}))["createActivity"]["id"]
    doc = await upload(gql, c, "invoice.pdf", b"%PDF attachment", a=activity)
    assert f"/customers/{c}/attachments/" in doc["key"]
    attached = data(await gql(ATTACHMENTS, {"a": activity}))["activity"]["attachments"]
    assert [a["id"] for a in attached] == [doc["id"]]
    listed = data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"]
    assert [d["id"] for d in listed] == [doc["id"]]
    other = await customer(gql, "Elsewhere")
    refused = await gql(
        REQUEST, {"c": other, "n": "x.pdf", "t": "application/pdf", "s": 3, "a": activity}
    )
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["extensions"]["field"] == "activityId"


async def _put_parts(plan: dict[str, Any], body: bytes) -> list[dict[str, Any]]:
    size, done = plan["partSize"], []
    async with httpx.AsyncClient(timeout=60) as http:
        for part in plan["parts"]:
            n = part["partNumber"]
            sent = await http.put(part["url"], content=body[(n - 1) * size : n * size])
            assert sent.status_code == 200, sent.text
            done.append({"partNumber": n, "etag": sent.headers["etag"]})
    return done


async def test_multipart_upload_of_several_parts(gql: Gql) -> None:
    c = await customer(gql)
    body = hashlib.sha256(b"seed").digest() * (11 * MIB // 32)  # 11 MiB: parts 5 + 5 + 1
    variables = {"c": c, "n": "site-survey.zip", "t": "application/zip", "s": len(body)}
    plan = data(await gql(START, variables))["startMultipartUpload"]
    assert plan["partSize"] == 5 * MIB
    assert len(plan["parts"]) == 3
    parts = await _put_parts(plan, body)
    wrong = [*parts[:2], {"partNumber": 3, "etag": '"0123"'}]
    refused = await gql(COMPLETE, {"c": c, "k": plan["key"], "u": plan["uploadId"], "p": wrong})
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert codes(
        await gql(COMPLETE, {"c": c, "k": plan["key"], "u": plan["uploadId"], "p": parts[:2]})
    ) == ["BAD_USER_INPUT"]
    doc = data(await gql(COMPLETE, {"c": c, "k": plan["key"], "u": plan["uploadId"], "p": parts}))
    done = doc["completeMultipartUpload"]
    assert (done["status"], done["size"]) == ("AVAILABLE", len(body))
    got = await download(done["url"])
    assert hashlib.sha256(got.content).digest() == hashlib.sha256(body).digest()


async def test_multipart_abort_forgets_the_upload(gql: Gql, db: Services) -> None:
    c = await customer(gql)
    variables = {"c": c, "n": "big.zip", "t": "application/zip", "s": 6 * MIB}
    plan = data(await gql(START, variables))["startMultipartUpload"]
    args = {"c": c, "k": plan["key"], "u": plan["uploadId"]}
    assert codes(await gql(ABORT, {**args, "u": "someone-elses"})) == ["BAD_USER_INPUT"]
    assert data(await gql(ABORT, args))["abortMultipartUpload"] is True
    uploads = await db.s3_client.list_multipart_uploads(
        Bucket=PREFIX + "documents", Prefix=plan["key"]
    )
    assert uploads.get("Uploads", []) == []
    assert codes(await gql(ABORT, args)) == ["NOT_FOUND"]
    assert codes(await gql(CONFIRM, {"c": c, "k": plan["key"]})) == ["NOT_FOUND"]


async def test_confirm_refuses_an_object_that_breaks_its_ticket(gql: Gql, db: Services) -> None:
    """moto takes any upload with a ticket (it checks no policy): confirmation is the
    check that holds everywhere, and an object that breaks its ticket is removed."""
    c = await customer(gql)
    t = await ticket(gql, c, "ten.pdf", b"0123456789")
    assert codes(await gql(CONFIRM, {"c": c, "k": t["key"]})) == ["BAD_USER_INPUT"]  # not yet
    await post(t, b"0123456789!")  # 11 bytes on a 10-byte ticket
    refused = await gql(CONFIRM, {"c": c, "k": t["key"]})
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert "11 bytes" in refused["errors"][0]["message"]
    assert [v for v in await versions(db, t["key"]) if "Size" in v] == []
    # The form's Content-Type is what S3 stores; a policy-checking S3 refuses this one.
    await post({**t, "fields": {**t["fields"], "Content-Type": "text/html"}}, b"0123456789")
    refused = await gql(CONFIRM, {"c": c, "k": t["key"]})
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert "text/html" in refused["errors"][0]["message"]
    await post(t, b"0123456789")
    ok = data(await gql(CONFIRM, {"c": c, "k": t["key"]}))["confirmDocumentUpload"]
    assert ok["status"] == "AVAILABLE"


BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"s": 0}, "size"),
    ({"s": 25 * MIB}, "size"),  # over the suite's maximum (24 MiB)
    ({"s": 6 * MIB}, "size"),  # over the multipart threshold: startMultipartUpload
    ({"t": "text/html"}, "contentType"),
    ({"n": "  "}, "fileName"),
    ({"n": "a\x00b.pdf"}, "fileName"),
    ({"n": "x" * 256}, "fileName"),
    ({"a": "cus_x"}, "activityId"),
    ({"a": "act_nothing"}, "activityId"),
]


async def test_bad_requests_name_the_argument(gql: Gql) -> None:
    c = await customer(gql)
    for change, field in BAD_REQUESTS:
        variables = {"c": c, "n": "a.pdf", "t": "application/pdf", "s": 10, **change}
        body = await gql(REQUEST, variables)
        assert codes(body) == ["BAD_USER_INPUT"], (change, body)
        assert body["errors"][0]["extensions"]["field"] == field, (change, body)
    small = await gql(START, {"c": c, "n": "a.zip", "t": "application/zip", "s": 5 * MIB})
    assert codes(small) == ["BAD_USER_INPUT"]
    missing = await gql(REQUEST, {"c": "cus_nothing", "n": "a.pdf", "t": "application/pdf", "s": 3})
    assert codes(missing) == ["NOT_FOUND"]


async def test_keys_of_anything_else_are_not_found(gql: Gql, tenants: Tenants) -> None:
    """A key names a file only if this server built it for that customer of this tenant."""
    c, other = await customer(gql), await customer(gql, "Other")
    doc = await upload(gql, c, "plan.pdf", b"%PDF plan")
    theirs = await customer(gql, "Globex", tenant=tenants.globex)
    prefix, _, name = doc["key"].rpartition("/")
    attempts = {
        "../ to another file": f"{prefix}/../{name}",
        "../ out of the customer": f"{tenants.acme}/customers/{c}/documents/../../{other}/x",
        "another tenant's prefix": doc["key"].replace(tenants.acme, tenants.globex, 1),
        "another customer's key": doc["key"],  # asked for under the other customer
        "a key of another bucket": f"{tenants.acme}/imports/imp_1/{name}",
        "the other kind": doc["key"].replace("/documents/", "/attachments/"),
        "another file name": f"{prefix}/other.pdf",
        "a leading slash": "/" + doc["key"],
    }
    for what, key in attempts.items():
        owner = other if what == "another customer's key" else c
        for document in (CONFIRM, DELETE):
            assert codes(await gql(document, {"c": owner, "k": key})) == ["NOT_FOUND"], what
    # The other tenant, naming its own customer and this key.
    probe = await gql(DELETE, {"c": theirs, "k": doc["key"]}, tenant=tenants.globex)
    assert codes(probe) == ["NOT_FOUND"]
    assert len(data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"]) == 1


async def test_who_may_upload_and_delete(gql: Gql) -> None:
    mine = await customer(gql, "Rep's", user="u-rep", role=Role.SALES_REP)
    theirs = await customer(gql, "Someone else's")
    doc = await upload(gql, mine, "a.pdf", b"%PDF a")
    rep: dict[str, Any] = {"user": "u-rep", "role": Role.SALES_REP}
    variables = {"n": "a.pdf", "t": "application/pdf", "s": 3}
    assert "errors" not in await gql(REQUEST, {"c": mine, **variables}, **rep)
    assert codes(await gql(REQUEST, {"c": theirs, **variables}, **rep)) == ["FORBIDDEN"]
    reader: dict[str, Any] = {"user": "u-read", "role": Role.READ_ONLY}
    assert codes(await gql(REQUEST, {"c": mine, **variables}, **reader)) == ["FORBIDDEN"]
    assert codes(await gql(DELETE, {"c": mine, "k": doc["key"]}, **reader)) == ["FORBIDDEN"]
    seen = data(await gql(DOCUMENTS, {"c": mine}, **reader))["customer"]["documents"]
    assert [d["id"] for d in seen] == [doc["id"]]
    assert data(await gql(DELETE, {"c": mine, "k": doc["key"]}, **rep))["deleteDocument"] is True


async def test_a_customer_with_files_is_not_deleted(gql: Gql) -> None:
    """The one rule: a customer's files are deleted first, as its contacts are."""
    c = await customer(gql)
    doc = await upload(gql, c, "a.pdf", b"%PDF a")
    refused = await gql(DELETE_CUSTOMER, {"c": c})
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert "still referenced by 1 record" in refused["errors"][0]["message"]
    pending = await ticket(gql, c, "never-confirmed.pdf", b"xyz")  # PENDING counts for nothing
    await gql(DELETE, {"c": c, "k": doc["key"]})
    assert data(await gql(DELETE_CUSTOMER, {"c": c}))["deleteCustomer"] == c
    await post(pending, b"xyz")
    assert codes(await gql(CONFIRM, {"c": c, "k": pending["key"]})) == ["NOT_FOUND"]


LISTS = "{ customers(first: 3) { edges { node { id documents { id name } } } } }"


async def test_file_lists_are_one_query_per_customer_and_cached(
    gql: Gql, request_log: RequestLog
) -> None:
    made = [await customer(gql, f"Lister {n}") for n in range(3)]
    await upload(gql, made[0], "one.pdf", b"%PDF 1")
    request_log.clear()
    first = data(await gql(LISTS))["customers"]["edges"]
    documents = [
        c for op, c in request_log.calls if op == "Query" and "Documents" in c["TableName"]
    ]
    assert len(documents) == 3
    assert {c["IndexName"] for c in documents} == {"byCustomer"}
    request_log.clear()
    assert data(await gql(LISTS))["customers"]["edges"] == first
    assert not [c for op, c in request_log.calls if "Documents" in c.get("TableName", "")]
    await upload(gql, made[1], "two.pdf", b"%PDF 2")  # a confirm makes the lists stale
    names = {
        e["node"]["id"]: [d["name"] for d in e["node"]["documents"]]
        for e in data(await gql(LISTS))["customers"]["edges"]
    }
    assert names[made[1]] == ["two.pdf"]
    assert names[made[0]] == ["one.pdf"]


async def test_an_s3_event_confirms_an_upload(gql: Gql, db: Services) -> None:
    """On AWS the bucket's ObjectCreated notification confirms what a client uploaded."""
    c = await customer(gql)
    t = await ticket(gql, c, "scan 01.pdf", b"%PDF scanned")
    await post(t, b"%PDF scanned")
    created = {
        "eventName": "ObjectCreated:Post",
        "s3": {"object": {"key": t["key"].replace(" ", "+")}},
    }
    stray = {"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "someone/else.txt"}}}
    removed = {"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": t["key"]}}}
    event = {"Records": [stray, removed, created, created]}  # S3 may deliver twice
    confirmed = await confirm_created(db.store, event)
    assert [d.key for d in confirmed] == [t["key"], t["key"]]
    listed = data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"]
    assert [d["key"] for d in listed] == [t["key"]]


async def test_a_completion_recorded_late_still_confirms(gql: Gql, db: Services) -> None:
    """S3 completed the upload but the metadata write failed: the retry (or a
    confirm, or S3's event) finds the upload gone and confirms the object."""
    c = await customer(gql)
    body = b"z" * (6 * MIB)
    variables = {"c": c, "n": "late.zip", "t": "application/zip", "s": len(body)}
    plan = data(await gql(START, variables))["startMultipartUpload"]
    parts = await _put_parts(plan, body)
    done: Any = {"Parts": [{"PartNumber": p["partNumber"], "ETag": p["etag"]} for p in parts]}
    await db.s3_client.complete_multipart_upload(
        Bucket=PREFIX + "documents",
        Key=plan["key"],
        UploadId=plan["uploadId"],
        MultipartUpload=done,
    )
    args = {"c": c, "k": plan["key"], "u": plan["uploadId"], "p": parts}
    retried = data(await gql(COMPLETE, args))["completeMultipartUpload"]
    assert (retried["status"], retried["size"]) == ("AVAILABLE", len(body))
    assert data(await gql(COMPLETE, args))["completeMultipartUpload"]["id"] == retried["id"]


async def test_download_urls_are_reused_for_half_their_life(gql: Gql, db: Services) -> None:
    """Signing costs about a millisecond: a polled list signs each file once per half-life."""
    c = await customer(gql)
    await upload(gql, c, "polled.pdf", b"%PDF polled")
    first = data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"][0]["url"]
    assert data(await gql(DOCUMENTS, {"c": c}))["customer"]["documents"][0]["url"] == first
    objects, get = Objects(db.s3_client), Download("v1", "attachment", "application/pdf")
    signed = await objects.download_url(PREFIX + "documents", "k", get, 2)
    assert await objects.download_url(PREFIX + "documents", "k", get, 2) == signed
    await asyncio.sleep(1.05)  # past half of its 2 s: signed anew
    assert await objects.download_url(PREFIX + "documents", "k", get, 2) != signed
