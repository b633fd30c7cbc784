"""The data layer's front door: shared clients in, tenant-bound repositories out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from dal.cache.client import Cache
from dal.cache.invalidation import Invalidator
from dal.derived.aggregates import Aggregates
from dal.dynamodb.client import Dynamo
from dal.errors import UnknownTenant
from dal.jobs.files import JobFiles
from dal.jobs.queue import Queue
from dal.jobs.records import JobStore
from dal.models import DocumentKind, Entity
from dal.privacy.archive import Archive
from dal.privacy.audit import AuditLog
from dal.privacy.eraser import Eraser
from dal.privacy.suppression import Suppressions
from dal.records import activities, contacts, customers, documents, opportunities, users
from dal.records.activities import ActivityRepo
from dal.records.contacts import ContactRepo
from dal.records.cursors import CursorCodec
from dal.records.customers import CustomerRepo
from dal.records.documents import DocumentRepo
from dal.records.opportunities import OpportunityRepo
from dal.records.repo import Repo
from dal.records.users import UserRepo
from dal.storage.files import Files
from dal.storage.objects import Objects
from dal.storage.templates import Templates
from dal.storage.uploads import UploadLimits
from dal.sync.journal import RETENTION_S, Journal
from dal.sync.merge import Strategy
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
    journal: Journal  # the change log of every write through these repositories
    cursors: CursorCodec  # signs sync cursors too
    sync_strategy: Strategy  # the tenant's default for pushes that name none
    jobs: JobStore
    job_files: JobFiles | None  # None: this store was built without S3
    queue: Queue | None  # None: no job queue (jobs can be made but nothing runs them)
    templates: Templates
    audit: AuditLog
    archive: Archive
    suppressions: Suppressions
    cache: Cache | None  # an erasure forgets the tenant's cached values
    eraser: Eraser
    audit_reads: bool = False  # the tenant audits reads of personal fields
    audit_reads_required: bool = False  # and withholds an answer whose reads went unrecorded

    def of(self, entity: Entity) -> Repo[Any]:
        """The repository of ``entity`` (sync reads and applies every kind)."""
        repo: Repo[Any] = getattr(self, _REPOS[entity])
        return repo


_REPOS = {
    Entity.CUSTOMER: "customers",
    Entity.CONTACT: "contacts",
    Entity.OPPORTUNITY: "opportunities",
    Entity.ACTIVITY: "activities",
    Entity.USER: "users",
    Entity.DOCUMENT: "documents",
}


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
        change_retention_s: float = RETENTION_S,
        sync_strategy: Strategy = Strategy.AUTOMERGE,
        job_files: JobFiles | None = None,
        queue: Queue | None = None,
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
        self.change_retention_s = change_retention_s
        self.sync_strategy = sync_strategy
        self.job_files, self.queue = job_files, queue

    async def open(self, tenant_id: str, actor: str = "system", request_id: str = "") -> Repos:
        """Repositories for ``tenant_id`` under the model the registry gives it; the
        change log names ``actor`` and ``request_id`` for every write through them."""
        tenant = await self.tenants.get(tenant_id)
        if tenant is None:
            if not self.register_unknown:
                raise UnknownTenant(tenant_id)
            model, zone = self.default_model, self.default_time_zone
            tenant = await self.tenants.ensure(tenant_id, model, zone)
        return self.bind(tenant, actor, request_id)

    def bind(self, tenant: Tenant, actor: str = "system", request_id: str = "") -> Repos:
        repos = self.for_tenant(tenant.id, tenant.model, tenant.time_zone, actor, request_id)
        repos = replace(
            repos, audit_reads=tenant.audit_reads, audit_reads_required=tenant.audit_reads_required
        )
        if tenant.sync_strategy is None:
            return repos
        return replace(repos, sync_strategy=Strategy(tenant.sync_strategy))

    def for_tenant(
        self,
        tenant_id: str,
        model: Model = Model.BRIDGE,
        time_zone: str = "UTC",
        actor: str = "system",
        request_id: str = "",
    ) -> Repos:
        scope = TenantScope(tenant_id, self.table_prefix, model, ZoneInfo(time_zone))
        d, c = self.dynamo, self._cursors
        told = None if self.cache is None else Invalidator(self.cache, tenant_id, self.record_ttl_s)
        j = Journal(
            d,
            scope,
            actor=actor,
            request_id=request_id,
            retention_s=self.change_retention_s,
        )
        a = Archive(d, scope)
        docs = DocumentRepo(d, scope, c, documents.CODEC, told, j)
        f = self.files
        return Repos(
            scope=scope,
            customers=CustomerRepo(d, scope, c, customers.CODEC, told, j, a),
            contacts=ContactRepo(d, scope, c, contacts.CODEC, told, j, a),
            opportunities=OpportunityRepo(d, scope, c, opportunities.CODEC, told, j, a),
            activities=ActivityRepo(d, scope, c, activities.CODEC, told, j, a),
            users=UserRepo(d, scope, c, users.CODEC, told, j),
            documents=docs,
            aggregates=Aggregates(d, scope),
            files=None if f is None else Files(docs, f.objects, f.buckets, f.limits),
            journal=j,
            cursors=c,
            sync_strategy=self.sync_strategy,
            jobs=JobStore(d, scope, c),
            job_files=self.job_files,
            queue=self.queue,
            templates=Templates(d, scope, self.job_files),
            audit=AuditLog(d, scope, c, self.change_retention_s),
            archive=a,
            suppressions=Suppressions(d, scope),
            cache=self.cache,
            eraser=Eraser(d, scope),
        )
