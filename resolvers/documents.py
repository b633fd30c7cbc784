"""Documents and attachments: who may upload and delete, then the file store's flow.

Every mutation names the customer; the caller must be allowed to change its
files (``document.upload`` / ``document.delete``, on the customer: a sales rep
only on customers it owns). An attachment's activity must be this customer's
(about it, one of its contacts or one of its opportunities) and writable by
the caller. Reads are open to every role of the tenant, like the customer.
"""

from __future__ import annotations

from dal.models import Activity, Customer, Document, Entity
from dal.storage import multipart
from dal.storage.files import Files, NewFile, Upload
from dal.storage.multipart import Multipart
from resolvers import policy
from resolvers.context import Info
from resolvers.errors import BadUserInput, NotFoundError, Unavailable
from resolvers.validation import existing_id


def _files(info: Info) -> Files:
    files = info.context.repos.files
    if files is None:  # a store built without S3 (some tests): not a client's problem
        raise Unavailable()
    return files


async def _customer(info: Info, customer_id: str, action: str) -> Customer:
    existing_id(Entity.CUSTOMER, customer_id)
    # Strongly consistent: a customer created a moment ago may take files at once.
    found = await info.context.repos.customers.get(customer_id)
    if found is None:
        raise NotFoundError("customer not found")
    await policy.require(info, action, found)
    return found


async def _activity_of(info: Info, customer: Customer, activity_id: str) -> Activity:
    if not info.context.repos.activities.plausible(activity_id):
        raise BadUserInput("activityId must name an activity (an id starting act_)", "activityId")
    found = await info.context.repos.activities.get(activity_id)
    if found is None or await _customer_of(info, found) != customer.id:
        raise BadUserInput("activityId does not name an activity of this customer", "activityId")
    await policy.require(info, "activity.update", found)
    return found


async def _customer_of(info: Info, activity: Activity) -> str | None:
    repos = info.context.repos
    if activity.related_type is Entity.CUSTOMER:
        return activity.related_id
    if activity.related_type is Entity.CONTACT:
        contact = await repos.contacts.get(activity.related_id)
        return None if contact is None else contact.customer_id
    opportunity = await repos.opportunities.get(activity.related_id)
    return None if opportunity is None else opportunity.customer_id


async def _new_file(
    info: Info, customer_id: str, name: str, content_type: str, size: int, activity_id: str | None
) -> NewFile:
    customer = await _customer(info, customer_id, "document.upload")
    if activity_id is not None:
        await _activity_of(info, customer, activity_id)
    uploader = info.context.principal.user_id
    kind = content_type.strip().lower()
    return NewFile(customer.id, name, kind, size, activity_id, uploader)


async def request_upload(
    info: Info, customer_id: str, name: str, content_type: str, size: int, activity_id: str | None
) -> Upload:
    new = await _new_file(info, customer_id, name, content_type, size, activity_id)
    return await _files(info).request_upload(new, info.context.now)


async def start_multipart(
    info: Info, customer_id: str, name: str, content_type: str, size: int, activity_id: str | None
) -> Multipart:
    new = await _new_file(info, customer_id, name, content_type, size, activity_id)
    return await multipart.start(_files(info), new, info.context.now)


async def confirm(info: Info, customer_id: str, key: str) -> Document:
    await _customer(info, customer_id, "document.upload")
    return await _files(info).confirm(customer_id, key)


async def complete_multipart(
    info: Info, customer_id: str, key: str, upload_id: str, parts: list[tuple[int, str]]
) -> Document:
    await _customer(info, customer_id, "document.upload")
    return await multipart.complete(_files(info), customer_id, key, upload_id, parts)


async def abort_multipart(info: Info, customer_id: str, key: str, upload_id: str) -> bool:
    await _customer(info, customer_id, "document.upload")
    await multipart.abort(_files(info), customer_id, key, upload_id)
    return True


async def delete(info: Info, customer_id: str, key: str) -> bool:
    await _customer(info, customer_id, "document.delete")
    await _files(info).delete(customer_id, key)
    return True


async def of_customer(info: Info, customer_id: str) -> list[Document]:
    return await info.context.loaders.documents_by_customer.load(customer_id)


async def of_activity(info: Info, activity_id: str) -> list[Document]:
    return await info.context.loaders.attachments_by_activity.load(activity_id)


async def download_url(info: Info, document: Document) -> str:
    return await _files(info).url(document)
