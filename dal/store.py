"""The data layer's front door: shared clients in, tenant-bound repositories out."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dal.cache.client import Cache
from dal.cache.invalidation import Invalidator
from dal.derived.aggregates import Aggregates
from dal.dynamodb.client import Dynamo
from dal.errors import UnknownTenant
from dal.models import DocumentKind
from dal.records import activities, contacts, customers, documents, opportunities, users
from dal.records.activities import ActivityRepo
from dal.records.contacts import ContactRepo
from dal.records.cursors import CursorCodec
from dal.records.customers import CustomerRepo
from dal.records.documents import DocumentRepo
from dal.records.opportunities import OpportunityRepo
from dal.records.users import UserRepo
from dal.storage.files import Files
from dal.storage.objects import Objects
from dal.storage.uploads import UploadLimits
from dal.tenancy.registry import Tenant, TenantRegistry, check_zone
from dal.tenancy.scope import Model, TenantScope


@dataclass(frozen=True, slots=True)
class Repos:
    """Every repository, bound to one tenant; built once per request."""

    scope: TenantScope
    customers: CustomerRepo
    contacts: ContactRepo
    opportunities: OpportunityRepo
    activities: ActivityRepo
    users: UserRepo
    documents: DocumentRepo
    aggregates: Aggregates
    files: Files | None  # None: this store was built without S3


@dataclass(frozen=True, slots=True)
class FileStore:
    """Where files go: the S3 client, the bucket of each kind, the upload limits."""

    objects: Objects
    buckets: dict[DocumentKind, str]
    limits: UploadLimits


class Store:
    def __init__(
        self,
        dynamo: Dynamo,
        *,
        table_prefix: str,
        cursor_secret: bytes,
        default_model: Model = Model.BRIDGE,
        default_time_zone: str = "UTC",
        register_unknown: bool = False,
        cache: Cache | None = None,
        record_ttl_s: float = 300.0,
        files: FileStore | None = None,
    ) -> None:
        """``register_unknown``: serve a tenant seen for the first time by registering
        it (dev), rather than refusing it with UnknownTenant (prod). ``cache``: told
        of every write (``dal.cache.invalidation``); records put through live
        ``record_ttl_s``."""
        self.cache = cache
        self.files = files
        self.record_ttl_s = record_ttl_s
        self.dynamo = dynamo
        self.table_prefix = table_prefix
        self._cursors = CursorCodec(cursor_secret)
        self.tenants = TenantRegistry(dynamo, table_prefix=table_prefix)
        self.default_model = default_model
        self.default_time_zone = check_zone(default_time_zone)
        self.register_unknown = register_unknown

    async def open(self, tenant_id: str) -> Repos:
        """Repositories for ``tenant_id`` under the model the registry gives it."""
        tenant = await self.tenants.get(tenant_id)
        if tenant is None:
            if not self.register_unknown:
                raise UnknownTenant(tenant_id)
            model, zone = self.default_model, self.default_time_zone
            tenant = await self.tenants.ensure(tenant_id, model, zone)
        return self.bind(tenant)

    def bind(self, tenant: Tenant) -> Repos:
        return self.for_tenant(tenant.id, tenant.model, tenant.time_zone)

    def for_tenant(
        self, tenant_id: str, model: Model = Model.BRIDGE, time_zone: str = "UTC"
    ) -> Repos:
        scope = TenantScope(tenant_id, self.table_prefix, model, ZoneInfo(time_zone))
        d, c = self.dynamo, self._cursors
        told = None if self.cache is None else Invalidator(self.cache, tenant_id, self.record_ttl_s)
        docs = DocumentRepo(d, scope, c, documents.CODEC, told)
        f = self.files
        return Repos(
            scope=scope,
            customers=CustomerRepo(d, scope, c, customers.CODEC, told),
            contacts=ContactRepo(d, scope, c, contacts.CODEC, told),
            opportunities=OpportunityRepo(d, scope, c, opportunities.CODEC, told),
            activities=ActivityRepo(d, scope, c, activities.CODEC, told),
            users=UserRepo(d, scope, c, users.CODEC, told),
            documents=docs,
            aggregates=Aggregates(d, scope),
            files=None if f is None else Files(docs, f.objects, f.buckets, f.limits),
        )
