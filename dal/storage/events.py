"""S3 event notifications: ObjectCreated confirms an upload, as confirmDocumentUpload does.

On AWS the documents and attachments buckets can notify a Lambda (or an SQS
queue it drains) of every new object, so a file becomes AVAILABLE even when
the client never comes back to confirm. The key says whose the file is (it
was built by this server); the same checks as a confirmation then apply.
A record that names no document of ours is skipped and logged, never fatal:
S3 delivers at least once, and redelivery of a confirmed file is a no-op. A
store that is unavailable raises: the event is delivered again (Lambda retries
an asynchronous invocation), and what was confirmed already is not changed.
Wired as ``server.uploads_handler`` (``aws_lambda.UploadsLambda``) by ``zebros iac``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from dal.errors import DalError, StoreUnavailable, Throttled
from dal.models import Document
from dal.storage import names
from dal.store import Store

log = logging.getLogger(__name__)


def created_keys(event: Mapping[str, Any]) -> list[str]:
    """The object keys of an event's ObjectCreated records (S3 sends them URL-encoded)."""
    records = event.get("Records", [])
    return [
        unquote_plus(r["s3"]["object"]["key"])
        for r in records
        if str(r.get("eventName", "")).startswith("ObjectCreated:")
    ]


async def confirm_created(store: Store, event: Mapping[str, Any]) -> list[Document]:
    confirmed = []
    for key in created_keys(event):
        parsed = names.parse(key)
        if parsed is None:
            log.warning("S3 event for a key this server did not build; skipped")
            continue
        try:
            repos = await store.open(parsed.tenant)
            if repos.files is not None:
                confirmed.append(await repos.files.confirm(parsed.customer_id, key))
        except (StoreUnavailable, Throttled):
            raise  # the store's failure, not the file's: the event comes again
        except DalError as exc:  # not ours, gone, or breaking its ticket: logged, not retried
            log.warning("S3 event not confirmed: %s", type(exc).__name__)
    return confirmed
