"""The committed SDL matches the code, and the code exposes every name of the contract."""

from __future__ import annotations

from pathlib import Path

import graphql

import schema

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "api-contract.graphql"

# Names of the contract that later issues deliver, by feature. The test fails when
# one of them appears in the schema, so the lists can only shrink: remove a
# feature's names when it lands.
PENDING_BY_FEATURE: dict[str, set[str]] = {
    # Issue 23: Relay conventions.
    "relay": {
        "Node",
        "Query.node",
        "Query.nodes",
        "PageInfo.hasPreviousPage",
        "PageInfo.startCursor",
        *(
            f"Query.{list_}({arg})"
            for list_ in ("customers", "opportunities", "activities")
            for arg in ("last", "before")
        ),
    },
    # Issue 25: batch writes and upserts by external id.
    "batch-writes": {
        "Customer.externalId",
        "Contact.externalId",
        "CreateCustomerInput.externalId",
        "CreateContactInput.externalId",
        "Query.customerByExternalId",
        "Query.contactByExternalId",
        "Mutation.createCustomers",
        "Mutation.upsertCustomers",
        "Mutation.createContacts",
        "Mutation.upsertContacts",
        "Mutation.createOpportunities",
        "Mutation.createActivities",
        "BatchError",
        "CustomerBatchPayload",
        "ContactBatchPayload",
        "OpportunityBatchPayload",
        "ActivityBatchPayload",
        "ContactMatch",
        "UpsertCustomerInput",
        "UpsertContactInput",
    },
    # Issue 25: merges and duplicates.
    "merges": {
        "Customer.mergedIds",
        "Contact.mergedIds",
        "Query.customerDuplicates",
        "Query.contactDuplicates",
        "Mutation.mergeCustomers",
        "Mutation.mergeContacts",
    },
    # Issue 25: signed webhooks from the change log.
    "webhooks": {
        "Query.webhookSubscriptions",
        "Query.webhookDeliveries",
        "Mutation.createWebhookSubscription",
        "Mutation.updateWebhookSubscription",
        "Mutation.deleteWebhookSubscription",
        "Mutation.rotateWebhookSecret",
        "Mutation.redeliverWebhook",
        "DeliveryStatus",
        "WebhookSubscription",
        "WebhookSecret",
        "WebhookDelivery",
        "WebhookDeliveryEdge",
        "WebhookDeliveryConnection",
    },
}
PENDING: set[str] = set().union(*PENDING_BY_FEATURE.values())


def _names(sdl: str) -> set[str]:
    built = graphql.build_schema(sdl)
    names: set[str] = set()
    for name, kind in built.type_map.items():
        if name.startswith("__"):
            continue
        names.add(name)
        for field_name, field in getattr(kind, "fields", {}).items():
            names.add(f"{name}.{field_name}")
            names.update(f"{name}.{field_name}({a})" for a in getattr(field, "args", {}))
    return names


def test_committed_schema_matches_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema.sdl(), "schema.graphql is stale: run `make schema`"


def test_every_contract_name_exists() -> None:
    assert CONTRACT.exists(), f"the contract is read from {CONTRACT}"
    wanted, have = _names(CONTRACT.read_text()), _names(schema.sdl())

    def pending(name: str) -> bool:
        field = name.split("(")[0]
        builtin = name in graphql.specified_scalar_types  # printed only when used
        return builtin or name in PENDING or field in PENDING or field.split(".")[0] in PENDING

    missing = sorted(n for n in wanted - have if not pending(n))
    assert missing == []
    delivered = sorted(n for n in PENDING if n in have)
    assert delivered == [], f"remove from PENDING: {delivered}"


def _defaults(sdl: str) -> dict[str, str]:
    """``Type.field(arg)`` -> its default value as written, for args that have one."""
    out = {}
    for name, kind in graphql.build_schema(sdl).type_map.items():
        for field_name, field in getattr(kind, "fields", {}).items():
            for arg_name, arg in getattr(field, "args", {}).items():
                node = arg.ast_node.default_value if arg.ast_node else None
                if node is not None:
                    out[f"{name}.{field_name}({arg_name})"] = graphql.print_ast(node)
    return out


def test_contract_argument_defaults_are_kept() -> None:
    ours = _defaults(schema.sdl())
    for arg, default in _defaults(CONTRACT.read_text()).items():
        assert ours.get(arg, default) == default, arg
