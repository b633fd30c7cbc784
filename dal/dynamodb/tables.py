"""Every DynamoDB table and index, in one place, with the access pattern it serves.

All tables key on ``pk`` = ``{tenant}#{id}``. Index partition keys carry the
tenant too (see ``tenancy.py``), so no index query can cross tenants. Index
sort keys end in ``#{id}`` where records may tie, which makes each sort key
unique and gives cursors a stable order. An index attribute that is absent
keeps the item out of that index (sparse indexes: open, completed, closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dal.models import Entity

KEY = "pk"
SORT = "sk"  # sort key of the derived tables (Aggregates, SearchTerms)
REF_COUNT = "refCount"  # records that point at this one; a delete needs 0


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    pk: str
    sk: str
    purpose: str


@dataclass(frozen=True, slots=True)
class Table:
    entity: str  # the table name without prefix
    indexes: tuple[Index, ...]
    sort_key: str | None = None  # only the derived tables below have one

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
)

CONTACTS = Table(
    Entity.CONTACT,
    (Index("byCustomer", "customerKey", "nameKey", "contacts of a customer, by name"),),
)

OPPORTUNITIES = Table(
    Entity.OPPORTUNITY,
    (
        Index("byTenant", "tenantKey", "createdKey", "all opportunities, newest first"),
        Index("byCustomer", "customerKey", "createdKey", "opportunities of a customer"),
        Index("byCustomerStage", "customerStageKey", "createdKey", "a customer's, in a stage"),
        Index("byContact", "contactKey", "createdKey", "opportunities involving a contact"),
        Index("byOwner", "ownerKey", "createdKey", "opportunities of an owner"),
        Index("byStage", "stageKey", "closeKey", "a stage, by expected close date"),
        Index("byClosed", "closedKey", "closedSortKey", "won or lost deals, by closedAt"),
    ),
)

ACTIVITIES = Table(
    Entity.ACTIVITY,
    (
        Index("byTenant", "tenantKey", "scheduleKey", "all activities, by schedule"),
        Index("byRelated", "relatedKey", "scheduleKey", "activities of a record, upcoming"),
        Index("byOwner", "ownerKey", "scheduleKey", "a user's activities in a window"),
        Index("byDate", "dateKey", "typeKey", "activities of a day, by type"),
        Index("byOpen", "openKey", "scheduleKey", "not completed: overdue = before now"),
        Index("byOwnerOpen", "openOwnerKey", "scheduleKey", "a user's open activities"),
        Index("byCompleted", "completedKey", "completedSortKey", "recently completed"),
    ),
)

USERS = Table(
    Entity.USER,
    (
        Index("byTenant", "tenantKey", "nameKey", "users of a tenant, by username"),
        Index("byEmail", "emailKey", "nameKey", "a user by e-mail"),
    ),
)

TABLES: dict[Entity, Table] = {
    Entity.CUSTOMER: CUSTOMERS,
    Entity.CONTACT: CONTACTS,
    Entity.OPPORTUNITY: OPPORTUNITIES,
    Entity.ACTIVITY: ACTIVITIES,
    Entity.USER: USERS,
}

# The tenants registry: key = tenant id, attribute ``model`` (silo|bridge|pool).
TENANTS = Table("Tenants", ())

# Derived data, written in the same transaction as the records it derives from.
# Aggregates: counters per (series, bucket), e.g. pk "{t}#pipeline#*", sk "LEAD";
# pk "{t}#sales", sk "2026-11-24". A report reads one partition: one Query.
AGGREGATES = Table("Aggregates", (), sort_key=SORT)
# SearchTerms: one item per word of a customer's name (and the whole name):
# pk "{t}#customer-terms", sk "{term}#{id}"; a prefix search is one begins_with Query.
SEARCH_TERMS = Table("SearchTerms", (), sort_key=SORT)

# What every tenant has: shared for bridge and pool, its own for a silo.
TENANT_TABLES = (*TABLES.values(), AGGREGATES, SEARCH_TERMS)


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
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": i.name,
                "KeySchema": [
                    {"AttributeName": i.pk, "KeyType": "HASH"},
                    {"AttributeName": i.sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for i in table.indexes
        ]
    return request
