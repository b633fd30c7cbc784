"""A document's cache policy, read off its selection and the schema's hints.

A query is cacheable as a whole (ETag, 304, the response cache) only when
every field it selects is covered: a root field with a hint, and below it
plain fields (no resolver of their own: part of the cached value) or fields
with hints of their own. Any other resolver (a contact's customer, a user)
reads data no generation describes, so the answer gets ``no-store``. The
policy is the union of the layers, the lowest max age, the widest scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)

from schema.caching import Cached, CacheScope, Hint
from schema.read_audit import AuditedRead

BACKREF = "strawberry-definition"
WIDTH = {CacheScope.TENANT: 0, CacheScope.ROLE: 1, CacheScope.USER: 2}


@dataclass
class Policy:
    layers: set[str] = field(default_factory=set)
    max_age: int | None = None
    scope: CacheScope = CacheScope.TENANT
    live: bool = False

    def add(self, hint: Hint) -> None:
        self.layers.update(hint.layers)
        self.max_age = hint.max_age if self.max_age is None else min(self.max_age, hint.max_age)
        self.scope = max(self.scope, hint.scope, key=WIDTH.__getitem__)
        self.live = self.live or hint.live


class _Uncovered(Exception):
    pass


def policy_of(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Policy | None:
    """The policy of the query ``operation_name`` names, None when not cacheable."""
    operation = _operation(document, operation_name)
    root = schema.query_type
    if operation is None or operation.operation is not OperationType.QUERY or root is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(fragments)
    try:
        walk.selections(root, operation.selection_set, covered=False)
    except _Uncovered:
        return None
    return walk.found if walk.found.max_age is not None else None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


class _Walk:
    """The selection, each fragment walked once per parent type and coverage: a
    policy is a union, so a second walk adds nothing, and a fragment bomb (ten
    spreads of ten spreads of ...) costs one pass over the document, not 10**n."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments, self.found = fragments, Policy()
        self._walked: set[tuple[str, str, bool]] = set()

    def selections(
        self, parent: GraphQLObjectType, selection: SelectionSetNode, *, covered: bool
    ) -> None:
        for node in selection.selections:
            if isinstance(node, FieldNode):
                self.field(parent, node, covered=covered)
            elif isinstance(node, InlineFragmentNode):
                self.selections(parent, node.selection_set, covered=covered)
            elif isinstance(node, FragmentSpreadNode):
                self.spread(parent, node.name.value, covered=covered)

    def spread(self, parent: GraphQLObjectType, name: str, *, covered: bool) -> None:
        key = (name, parent.name, covered)
        if key in self._walked:  # walked already (or a cycle, which validation refuses)
            return
        self._walked.add(key)
        fragment = self.fragments.get(name)
        if fragment is None:
            raise _Uncovered
        self.selections(parent, fragment.selection_set, covered=covered)

    def field(self, parent: GraphQLObjectType, node: FieldNode, *, covered: bool) -> None:
        if node.name.value == "__typename":
            return
        definition = parent.fields.get(node.name.value)
        if definition is None:  # introspection, or invalid: not worth caching
            raise _Uncovered
        _field(definition.extensions.get(BACKREF), node, self.found, covered=covered)
        named = get_named_type(definition.type)
        if node.selection_set is not None:
            if not isinstance(named, GraphQLObjectType):
                raise _Uncovered  # unions and interfaces resolve by code
            self.selections(named, node.selection_set, covered=True)


def _field(strawberry_field: object, node: FieldNode, found: Policy, *, covered: bool) -> None:
    hint = next(
        (e.hint for e in getattr(strawberry_field, "extensions", ()) if isinstance(e, Cached)),
        None,
    )
    if hint is not None:
        found.add(hint)
        return
    if any(isinstance(e, AuditedRead) for e in getattr(strawberry_field, "extensions", ())):
        raise _Uncovered  # a read a tenant may audit: resolved each time, never replayed
    plain = getattr(strawberry_field, "base_resolver", "none") is None
    if not (covered and plain):
        raise _Uncovered
