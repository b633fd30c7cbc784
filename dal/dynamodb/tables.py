"""Every DynamoDB table and index, in one place, with the access pattern it serves.

All tables key on ``pk`` = ``{tenant}#{id}``. Index partition keys carry the
tenant too (see ``tenancy/scope.py``), so no index query can cross tenants.
Index sort keys end in ``#{id}`` where records may tie, which makes each sort
key unique and gives cursors a stable order. An index attribute that is absent
keeps the item out of that index (sparse indexes: open, completed, closed).

Projections: an index that serves pages of whole records projects ALL
attributes, so a page is one Query. An index whose pages are rare next to the
writes that would rewrite its copies (every update changes ``version``)
projects only what its filters and counts read (INCLUDE, or KEYS_ONLY) and its
pages re-read the records by key, one BatchGetItem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dal.models import Entity

KEY = "pk"
SORT = "sk"  # sort key of the derived tables (Aggregates, SearchTerms)
REF_COUNT = "refCount"  # records that point at this one; a delete needs 0
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    pk: str
    sk: str
    purpose: str
    # None: ALL attributes; else INCLUDE these (KEYS_ONLY when empty).
    projected: tuple[str, ...] | None = None

    @property
    def complete(self) -> bool:
        """Whether a Query of this index returns whole records."""
        return self.projected is None

    def projection(self) -> dict[str, Any]:
        if self.projected is None:
            return {"ProjectionType": "ALL"}
        if not self.projected:
            return {"ProjectionType": "KEYS_ONLY"}
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.projected)}


@dataclass(frozen=True, slots=True)
class Table:
    entity: str  # the table name without prefix
    indexes: tuple[Index, ...]
    sort_key: str | None = None  # only the derived tables below have one
    ttl: str | None = None  # the attribute DynamoDB's TTL deletes items by
    # A DynamoDB stream (NEW_AND_OLD_IMAGES) carries its changes to the consumer that
    # derives aggregates and archive copies, and numbers the change log (dal/streams/).
    streamed: bool = False

    def index(self, name: str) -> Index:
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(f"{self.entity} has no index {name}")


CUSTOMERS = Table(
    Entity.CUSTOMER,
    (
        Index("byTenant", "tenantKey", "createdKey", "all customers, newest first"),
        Index("byOwner", "ownerKey", "createdKey", "customers of an owner, newest first"),
        Index("byIndustry", "industryKey", "createdKey", "customers of an industry"),
    ),
    streamed=True,
)

CONTACTS = Table(
    Entity.CONTACT,
    (
        Index("byCustomer", "customerKey", "nameKey", "contacts of a customer, by name"),
        # A full sync pages every contact of the tenant (sync/full.py); nothing else
        # reads it, so it keeps keys only and the page re-reads the records.
        Index("byTenant", "tenantKey", "createdKey", "all contacts (full sync)", ()),
    ),
    streamed=True,
)

OPPORTUNITIES = Table(
    Entity.OPPORTUNITY,
    (
        Index("byTenant", "tenantKey", "createdKey", "all opportunities, newest first"),
        # A customer's in one stage: this index, filtered (a customer has few deals).
        Index("byCustomer", "customerKey", "createdKey", "opportunities of a customer"),
        Index("byContact", "contactKey", "createdKey", "opportunities of a contact"),
        Index("byOwner", "ownerKey", "createdKey", "opportunities of an owner"),
        Index("byStage", "stageKey", "closeKey", "a stage, by expected close date"),
        Index("byClosed", "closedKey", "closedSortKey", "won or lost deals, by closedAt"),
    ),
    streamed=True,
)

# What the activity indexes that re-read their records project: the tenant (the
# read check), and what filters and per-owner counts look at.
LISTED = ("tenantId", "ownerId", "type", "relatedId")
ACTIVITIES = Table(
    Entity.ACTIVITY,
    (
        Index("byTenant", "tenantKey", "scheduleKey", "all activities, by schedule"),
        Index("byRelated", "relatedKey", "scheduleKey", "activities of a record, upcoming"),
        Index("byOwner", "ownerKey", "scheduleKey", "a user's activities in a window"),
        # Overdue counts per owner and filters read these attributes only.
        Index("byOpen", "openKey", "scheduleKey", "not completed: overdue = before now", LISTED),
        Index("byOwnerOpen", "openOwnerKey", "scheduleKey", "a user's open activities", LISTED),
        Index("byCompleted", "completedKey", "completedSortKey", "recently completed", LISTED),
    ),
    streamed=True,
)

USERS = Table(
    Entity.USER,
    (Index("byTenant", "tenantKey", "nameKey", "users of a tenant, by username"),),
)

# Documents: metadata of the files in S3. The list indexes are sparse: their keys
# are written only once a file is AVAILABLE, so a listing never shows a PENDING
# upload and needs no filter. ``expiresAt`` (epoch seconds, the table's TTL
# attribute) is set only while PENDING: an upload never confirmed goes away.
DOCUMENTS = Table(
    Entity.DOCUMENT,
    (
        Index("byCustomer", "customerKey", "createdKey", "a customer's files, newest first"),
        Index("byActivity", "activityKey", "createdKey", "an activity's attachments"),
        Index("byTenant", "tenantKey", "createdKey", "all available files (full sync)", ()),
    ),
    ttl="expiresAt",
)

TABLES: dict[Entity, Table] = {
    Entity.CUSTOMER: CUSTOMERS,
    Entity.CONTACT: CONTACTS,
    Entity.OPPORTUNITY: OPPORTUNITIES,
    Entity.ACTIVITY: ACTIVITIES,
    Entity.USER: USERS,
    Entity.DOCUMENT: DOCUMENTS,
}

# The tenants registry: key = tenant id, attribute ``model`` (silo|bridge|pool).
TENANTS = Table("Tenants", ())

# Derived data. Aggregates: counters per (series, bucket), e.g. pk "{t}#pipeline#all",
# sk "LEAD#03"; pk "{t}#sales", sk "2026-11-24#00". A report reads one partition: one
# Query. Written by the stream consumer only (dal/streams/), which also keeps its
# checkpoints here: pk "~streams", sk "{source table}#{stream shard}" (no tenant id
# starts with "~", so no tenant's key can spell it).
AGGREGATES = Table("Aggregates", (), sort_key=SORT)
# SearchTerms: one item per word of a customer's name (and the whole name):
# pk "{t}#customer-terms", sk "{term}#{id}"; a prefix search is one begins_with Query.
SEARCH_TERMS = Table("SearchTerms", (), sort_key=SORT)

# Changes: the change log (dal/sync/). An entry per change under its record's own key,
# pk "{t}#changes#rec#{id}#{born}", sk "{version:010d}", written with the record; the
# sequencer (dal/streams/sequencer.py, on this table's stream) numbers it: per tenant,
# SHARDS partitions pk "{t}#changes#{shard}", each a gap-free sequence of pointers
# (sk "{seq:012d}") to entries, and one head item (sk "~head") holding the last seq.
# Also the receipts of pushed mutations: pk "{t}#client#{user hash}#{clientId}", sk the
# clientMutationId. Everything here expires (``expiresAt``): system-log retention.
AUDITED = ("tenantId", "entity", "id", "action", "op", "actor", "requestId", "fields", "at")
CHANGES = Table(
    "Changes",
    (
        # A record's versions, for merges against the version a device edited. Eventually
        # consistent: a merge checks that every version it needs came back.
        Index(
            "byRecord",
            "recordKey",
            "versionKey",
            "a record's changes, by version (merges)",
            ("tenantId", "version", "fields", "madeAt", "op"),
        ),
        # The audit log (dal/privacy/audit.py): the same entries, by who wrote and by
        # which record, in time order. They project the facts only, never ``record``
        # (the values): an audit page cannot show what a field held.
        Index("byActor", "actorKey", "auditKey", "a user's writes, by time", AUDITED),
        Index("bySubject", "subjectKey", "auditKey", "a record's writes, by time", AUDITED),
        # Every receipt of the tenant (pushes, Idempotency-Key answers): an erasure
        # scrubs the answers they keep. Keys only: the erasure re-reads each one.
        Index("byReceipt", "receiptKey", SORT, "a tenant's receipts (erasure)", ()),
    ),
    sort_key=SORT,
    ttl="expiresAt",
    streamed=True,
)

# Jobs (dal/jobs/): pk "{t}#jobs", sk the job id (a ULID: newest last). Records of
# system work, so they expire with the system logs (``expiresAt``, 90 days).
JOBS = Table(
    "Jobs",
    (Index("byKind", "kindKey", SORT, "a tenant's jobs of one kind, newest first"),),
    sort_key=SORT,
    ttl="expiresAt",
)

# E-mail templates' metadata (dal/templates/): pk "{t}#templates", sk the template id;
# the body is in the templates bucket, one object per version.
EMAIL_TEMPLATES = Table("EmailTemplates", (), sort_key=SORT)

# Archive (dal/privacy/archive.py): a deleted customer, opportunity or activity, kept
# as business record for ARCHIVE_YEARS: pk "{t}#archive", sk "{entity}#{id}#{deletedAt}".
# ``byRelated`` finds the copies about a contact (its activities and deals), for an
# erasure. Under a legal hold items have no ``expiresAt``, so TTL purges none.
ARCHIVE = Table(
    "Archive",
    (Index("byRelated", "relatedKey", SORT, "archived records about a contact", ()),),
    sort_key=SORT,
    ttl="expiresAt",
)

# Suppressions (dal/privacy/suppression.py): pk "{t}#suppressed", sk the SHA-256 of
# an erased e-mail address, so that a create or an import cannot bring it back.
SUPPRESSIONS = Table("Suppressions", (), sort_key=SORT)

# What every tenant has: shared for bridge and pool, its own for a silo.
TENANT_TABLES = (
    *TABLES.values(),
    AGGREGATES,
    SEARCH_TERMS,
    CHANGES,
    JOBS,
    EMAIL_TEMPLATES,
    ARCHIVE,
    SUPPRESSIONS,
)


def create_table_request(table: Table, name: str) -> dict[str, Any]:
    """The CreateTable arguments for ``table`` (on-demand, as the architecture starts)."""
    attrs = {KEY} | {i.pk for i in table.indexes} | {i.sk for i in table.indexes}
    key_schema = [{"AttributeName": KEY, "KeyType": "HASH"}]
    if table.sort_key:
        attrs.add(table.sort_key)
        key_schema.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": key_schema,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
    }
    if table.streamed:
        request["StreamSpecification"] = STREAM
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": i.name,
                "KeySchema": [
                    {"AttributeName": i.pk, "KeyType": "HASH"},
                    {"AttributeName": i.sk, "KeyType": "RANGE"},
                ],
                "Projection": i.projection(),
            }
            for i in table.indexes
        ]
    return request
