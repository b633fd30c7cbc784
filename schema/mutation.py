"""The root Mutation type. Each write returns the record as stored (new version)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import activities, contacts, customers, documents, opportunities, users
from resolvers.context import Info
from schema.documents import CompletedPart, Document, MultipartUpload, UploadTicket
from schema.inputs import (
    CreateActivityInput,
    CreateContactInput,
    CreateCustomerInput,
    CreateOpportunityInput,
    CreateUserInput,
    ExpectedVersion,
    UpdateActivityInput,
    UpdateContactInput,
    UpdateCustomerInput,
    UpdateOpportunityInput,
    UpdateUserInput,
    given,
)
from schema.jobs import JobMutation
from schema.privacy import PrivacyMutation
from schema.sync import SyncPushInput, SyncPushPayload, sync_push
from schema.templates import TemplateMutation
from schema.types import Activity, Contact, Customer, Opportunity, User

ID = strawberry.ID


@strawberry.type
class Mutation(JobMutation, TemplateMutation, PrivacyMutation):
    @strawberry.mutation
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> Customer:
        return Customer.of(await customers.create_customer(info, given(input)))

    @strawberry.mutation
    async def update_customer(
        self,
        info: Info,
        id: ID,
        input: UpdateCustomerInput,
        expected_version: ExpectedVersion = None,
    ) -> Customer:
        record = await customers.update_customer(info, id, given(input), expected_version)
        return Customer.of(record)

    @strawberry.mutation
    async def delete_customer(
        self, info: Info, id: ID, expected_version: ExpectedVersion = None
    ) -> ID:
        return ID(await customers.delete_customer(info, id, expected_version))

    @strawberry.mutation
    async def create_contact(self, info: Info, input: CreateContactInput) -> Contact:
        return Contact.of(await contacts.create_contact(info, given(input)))

    @strawberry.mutation
    async def update_contact(
        self,
        info: Info,
        id: ID,
        input: UpdateContactInput,
        expected_version: ExpectedVersion = None,
    ) -> Contact:
        return Contact.of(await contacts.update_contact(info, id, given(input), expected_version))

    @strawberry.mutation
    async def delete_contact(
        self, info: Info, id: ID, expected_version: ExpectedVersion = None
    ) -> ID:
        return ID(await contacts.delete_contact(info, id, expected_version))

    @strawberry.mutation
    async def create_opportunity(self, info: Info, input: CreateOpportunityInput) -> Opportunity:
        return Opportunity.of(await opportunities.create_opportunity(info, given(input)))

    @strawberry.mutation
    async def update_opportunity(
        self,
        info: Info,
        id: ID,
        input: UpdateOpportunityInput,
        expected_version: ExpectedVersion = None,
    ) -> Opportunity:
        record = await opportunities.update_opportunity(info, id, given(input), expected_version)
        return Opportunity.of(record)

    @strawberry.mutation
    async def delete_opportunity(
        self, info: Info, id: ID, expected_version: ExpectedVersion = None
    ) -> ID:
        return ID(await opportunities.delete_opportunity(info, id, expected_version))

    @strawberry.mutation
    async def create_activity(self, info: Info, input: CreateActivityInput) -> Activity:
        return Activity.of(await activities.create_activity(info, given(input)))

    @strawberry.mutation
    async def update_activity(
        self,
        info: Info,
        id: ID,
        input: UpdateActivityInput,
        expected_version: ExpectedVersion = None,
    ) -> Activity:
        record = await activities.update_activity(info, id, given(input), expected_version)
        return Activity.of(record)

    @strawberry.mutation
    async def complete_activity(
        self, info: Info, id: ID, completed_at: datetime | None = None
    ) -> Activity:
        return Activity.of(await activities.complete_activity(info, id, completed_at))

    @strawberry.mutation
    async def delete_activity(
        self, info: Info, id: ID, expected_version: ExpectedVersion = None
    ) -> ID:
        return ID(await activities.delete_activity(info, id, expected_version))

    @strawberry.mutation
    async def create_user(self, info: Info, input: CreateUserInput) -> User:
        return User.of(await users.create_user(info, given(input)))

    @strawberry.mutation
    async def update_user(
        self, info: Info, id: ID, input: UpdateUserInput, expected_version: ExpectedVersion = None
    ) -> User:
        return User.of(await users.update_user(info, id, given(input), expected_version))

    @strawberry.mutation
    async def request_document_upload(
        self,
        info: Info,
        customer_id: ID,
        file_name: str,
        content_type: str,
        size: int,
        activity_id: ID | None = None,
    ) -> UploadTicket:
        """A presigned POST for a new file (README "Documents")."""
        upload = await documents.request_upload(
            info, customer_id, file_name, content_type, size, activity_id
        )
        return UploadTicket.of(upload)

    @strawberry.mutation
    async def confirm_document_upload(self, info: Info, customer_id: ID, key: str) -> Document:
        return Document.of(await documents.confirm(info, customer_id, key))

    @strawberry.mutation
    async def start_multipart_upload(
        self,
        info: Info,
        customer_id: ID,
        file_name: str,
        content_type: str,
        size: int,
        activity_id: ID | None = None,
    ) -> MultipartUpload:
        started = await documents.start_multipart(
            info, customer_id, file_name, content_type, size, activity_id
        )
        return MultipartUpload.of(started)

    @strawberry.mutation
    async def complete_multipart_upload(
        self, info: Info, customer_id: ID, key: str, upload_id: str, parts: list[CompletedPart]
    ) -> Document:
        given = [(p.part_number, p.etag) for p in parts]
        return Document.of(
            await documents.complete_multipart(info, customer_id, key, upload_id, given)
        )

    @strawberry.mutation
    async def abort_multipart_upload(
        self, info: Info, customer_id: ID, key: str, upload_id: str
    ) -> bool:
        return await documents.abort_multipart(info, customer_id, key, upload_id)

    @strawberry.mutation
    async def delete_document(self, info: Info, customer_id: ID, key: str) -> bool:
        return await documents.delete(info, customer_id, key)

    @strawberry.mutation
    async def sync_push(self, info: Info, input: SyncPushInput) -> SyncPushPayload:
        return await sync_push(info, input)
