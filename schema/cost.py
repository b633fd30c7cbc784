"""What a document measures before it runs: depth, aliases, root fields, directives, cost.

Cost is the worst-case number of fetches (a DynamoDB request or a record
load): a connection is one fetch per parent plus ``first`` times its
selection; a list of objects is one fetch plus its size times its selection,
the size declared where the field is (``@listSize(assumedSize:)``, after the
IBM/Apollo cost directives) or the largest page when undeclared; another
object field is one load; scalars, ``edges``, ``node`` and ``pageInfo`` are
free (they come with the page). Introspection is answered from memory and
its lists are not multiplied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass
from typing import Any, TypeVar, cast

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_introspection_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from strawberry.schema_directive import Location

from schema.bounds import Limits
from schema.caching import Hint, cached

# Where Strawberry leaves its own field definition on graphql-core's.
STRAWBERRY_DEFINITION = "strawberry-definition"
R = TypeVar("R", bound=Callable[..., Any])


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="listSize",
    description="The most items this list holds: its selection's cost is multiplied by it.",
)
class ListSize:
    assumed_size: int


def list_field(*, assumed_size: int, hint: Hint | None = None) -> Callable[[R], R]:
    """``@strawberry.field`` on a resolver, declaring ``@listSize(assumedSize:)`` (and
    caching it by ``hint``).

    Typed here once: Strawberry's keyword-only overload returns ``Any``, which
    mypy --strict refuses as a decorator.
    """

    def declare(resolver: R) -> R:
        extra = cached(hint) if hint else {"directives": [], "extensions": []}
        directives = [ListSize(assumed_size=assumed_size), *extra["directives"]]
        field: Any = strawberry.field(
            resolver, directives=directives, extensions=extra["extensions"]
        )
        return cast(R, field)

    return declare


@dataclass(frozen=True, slots=True)
class Metrics:
    """What a selection set measures; ``fields`` counts its own fields only."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    cost: int = 0
    fields: int = 0

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.directives + other.directives,
            self.cost + other.cost,
            self.fields + other.fields,
        )

    def worst(self, other: Metrics) -> Metrics:
        return Metrics(*(max(a, b) for a, b in zip(astuple(self), astuple(other), strict=True)))


def is_connection(kind: GraphQLNamedType | None) -> bool:
    return isinstance(kind, GraphQLObjectType) and {"edges", "pageInfo"} <= kind.fields.keys()


def _is_page_part(kind: GraphQLNamedType | None) -> bool:
    """A connection or an edge: its fields come with the page already fetched."""
    is_edge = isinstance(kind, GraphQLObjectType) and {"node", "cursor"} <= kind.fields.keys()
    return is_edge or is_connection(kind)


def _field_def(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None


def declared_size(definition: GraphQLField) -> int | None:
    """The ``@listSize`` of a field, as declared on its Strawberry definition."""
    declared = getattr(definition.extensions.get(STRAWBERRY_DEFINITION), "directives", ())
    sizes = [d.assumed_size for d in declared if isinstance(d, ListSize)]
    return sizes[0] if sizes else None


def _is_list(definition: GraphQLField | None) -> bool:
    kind = definition.type if definition else None
    return isinstance(kind.of_type if isinstance(kind, GraphQLNonNull) else kind, GraphQLList)


class Measure:
    """Walks a document that has not been validated: unknown names measure as
    nothing, and a fragment is measured once (spreads reuse it), so neither a
    fragment cycle nor a fragment bomb costs more than one pass."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema, self.limits = schema, limits
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = {**_int_defaults(document), **variables}
        self._done: dict[str, Metrics] = {}
        self._active: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Metrics:
        root = self.schema.get_root_type(operation.operation)
        own = Metrics(directives=len(operation.directives or ()))
        return own + self.selections(operation.selection_set, root)

    def selections(self, node: SelectionSetNode | None, parent: GraphQLNamedType | None) -> Metrics:
        total = Metrics()
        for selection in node.selections if node else ():
            total += self.selection(selection, parent)
        return total

    def selection(self, node: SelectionNode, parent: GraphQLNamedType | None) -> Metrics:
        own = Metrics(directives=len(node.directives or ()))
        if isinstance(node, FieldNode):
            return self.field(node, parent)
        if isinstance(node, InlineFragmentNode):
            kind = self._type(node.type_condition.name.value) if node.type_condition else parent
            return own + self.selections(node.selection_set, kind)
        if isinstance(node, FragmentSpreadNode):
            return own + self.fragment(node.name.value)
        return own  # no other kind of selection exists

    def fragment(self, name: str) -> Metrics:
        definition = self.fragments.get(name)
        if name in self._done or definition is None or name in self._active:
            return self._done.get(name, Metrics())  # a cycle (or unknown) adds nothing
        self._active.add(name)
        kind = self._type(definition.type_condition.name.value)
        own = Metrics(directives=len(definition.directives or ()))
        self._done[name] = own + self.selections(definition.selection_set, kind)
        self._active.discard(name)
        return self._done[name]

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Metrics:
        definition = _field_def(parent, node.name.value)
        kind = get_named_type(definition.type) if definition else None
        below = self.selections(node.selection_set, kind)
        return Metrics(
            depth=below.depth + 1 if node.selection_set else 0,
            aliases=below.aliases + (1 if node.alias else 0),
            directives=below.directives + len(node.directives or ()),
            cost=self._cost(node, parent, kind, definition, below.cost),
            fields=1,
        )

    def _cost(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        kind: GraphQLNamedType | None,
        definition: GraphQLField | None,
        below: int,
    ) -> int:
        if node.selection_set is None:
            return 0
        if is_connection(kind):
            return 1 + self.first(node, definition) * below
        if _is_page_part(parent):
            return below
        return 1 + self.size(parent, definition) * below

    def size(self, parent: GraphQLNamedType | None, definition: GraphQLField | None) -> int:
        """How many items the field returns at most: 1 unless it is a list."""
        if definition is None or not _is_list(definition):
            return 1
        if parent is not None and is_introspection_type(parent):
            return 1  # answered from the schema in memory, no fetch per item
        declared = declared_size(definition)
        return self.limits.max_first if declared is None else declared

    def first(self, node: FieldNode, definition: GraphQLField | None) -> int:
        """The page size the connection will fetch, as the resolver will see it."""
        given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        arg = definition.args.get("first") if definition else None
        value: object = arg.default_value if arg else None
        if isinstance(given, IntValueNode):
            value = int(given.value)
        elif isinstance(given, VariableNode):
            value = self.variables.get(given.name.value)
        elif given is not None:
            value = None  # a literal null: the resolver uses the default page size
        if not isinstance(value, int) or isinstance(value, bool):
            value = self.limits.default_first
        return min(max(value, 1), self.limits.max_first)

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self.schema.get_type(name)


def _int_defaults(document: DocumentNode) -> dict[str, int]:
    """Variables' default values written in the document (``$n: Int = 50``)."""
    return {
        v.variable.name.value: int(v.default_value.value)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        for v in d.variable_definitions or ()
        if isinstance(v.default_value, IntValueNode)
    }


def measure(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any], limits: Limits
) -> Metrics:
    """The worst operation of the document, metric by metric."""
    walker = Measure(schema, document, variables, limits)
    total = Metrics()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total = total.worst(walker.operation(definition))
    return total
