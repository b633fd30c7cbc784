"""Limits on a GraphQL document, measured before it runs (OWASP GraphQL cheat sheet).

Size and tokens are checked before parsing, depth, aliases, root fields,
directives and cost before validation, so an abusive document costs neither.
A refusal is a GraphQL error with ``extensions.code = "QUERY_TOO_COMPLEX"``,
the measured value under the metric's name and ``extensions.limit``.

Cost is the worst-case number of fetches (a DynamoDB request or a record
load): a connection is one fetch per parent plus ``first`` times its
selection; another object field is one load; scalars, ``edges``, ``node`` and
``pageInfo`` are free (they come with the page).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import astuple, dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    Source,
    VariableNode,
    get_named_type,
)
from graphql.language import Lexer, TokenKind
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from strawberry.extensions import SchemaExtension

CODE = "QUERY_TOO_COMPLEX"
# Measurements of fragment bombs grow without bound; JavaScript clients read
# integers exactly only up to 2**53 - 1.
JSON_SAFE = 2**53 - 1


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 15
    max_tokens: int = 1000
    max_characters: int = 15_000
    max_root_fields: int = 20
    max_directives: int = 50
    max_cost: int = 10_000
    # `first` when a connection omits it (or passes null), and the most a page holds.
    default_first: int = 20
    max_first: int = 100


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


def too_complex(metric: str, value: int, limit: int) -> GraphQLError:
    shown = min(value, JSON_SAFE)
    message = f"Query is too complex: {metric} {shown} exceeds the limit of {limit}."
    return GraphQLError(message, extensions={"code": CODE, metric: shown, "limit": limit})


def count_tokens(query: str) -> int:
    """Tokens as graphql-core's ``max_tokens`` counts them: comments included,
    since each is allocated as a token (comment padding is no way around it)."""
    lexer = Lexer(Source(query))
    start = lexer.token
    try:
        while lexer.advance().kind is not TokenKind.EOF:
            pass
    except GraphQLError:
        pass  # a syntax error: the parser reports it, with its location
    count, token = 0, start.next
    while token is not None and token.kind is not TokenKind.EOF:
        count, token = count + 1, token.next
    return count


def source_refusal(query: str, limits: Limits) -> GraphQLError | None:
    # Characters first: a huge string literal or comment is few tokens.
    if len(query) > limits.max_characters:
        return too_complex("characters", len(query), limits.max_characters)
    tokens = count_tokens(query)
    if tokens > limits.max_tokens:
        return too_complex("tokens", tokens, limits.max_tokens)
    return None


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
        assert isinstance(node, FragmentSpreadNode)
        return own + self.fragment(node.name.value)

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
        return below if _is_page_part(parent) else 1 + below

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


def document_refusals(metrics: Metrics, limits: Limits) -> list[GraphQLError]:
    checks = (
        ("depth", metrics.depth, limits.max_depth),
        ("aliases", metrics.aliases, limits.max_aliases),
        ("rootFields", metrics.fields, limits.max_root_fields),
        ("directives", metrics.directives, limits.max_directives),
        ("cost", metrics.cost, limits.max_cost),
    )
    return [too_complex(name, value, limit) for name, value, limit in checks if value > limit]


def _become(error: GraphQLError, refusal: GraphQLError) -> None:
    """Turn the parser's error in place: Strawberry already holds that object."""
    error.message, error.extensions = refusal.message, refusal.extensions
    error.locations = error.positions = error.nodes = error.source = None


def limits_extension(limits: Limits) -> type[SchemaExtension]:
    """A class, not an instance: Strawberry builds one per request."""

    class EdgeLimits(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            context = self.execution_context
            refusal = source_refusal(context.query or "", limits)
            if refusal is not None:
                # Parse nothing: graphql-core stops at the first token, and the
                # error it raises becomes ours below.
                context.parse_options["max_tokens"] = 0
            yield
            if refusal is not None:
                for error in context.pre_execution_errors or ():
                    _become(error, refusal)

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            assert context.graphql_document is not None
            metrics = measure(
                context.schema._schema, context.graphql_document, context.variables or {}, limits
            )
            refusals = document_refusals(metrics, limits)
            if refusals:
                # Errors set here skip Strawberry's validation: refused, not worth validating.
                context.pre_execution_errors = refusals
            yield

    return EdgeLimits
