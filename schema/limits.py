"""Limits on a GraphQL document, measured before it runs (OWASP GraphQL cheat sheet).

Size and tokens are checked before parsing, depth, aliases, root fields,
directives and cost (``schema/cost.py`` measures them) before validation, so
an abusive document costs neither. A refusal is a GraphQL error with
``extensions.code = "QUERY_TOO_COMPLEX"``, the measured value under the
metric's name and ``extensions.limit``. A document of several operations
without an ``operationName`` is refused there too (BAD_USER_INPUT), as the
spec requires, not run as its first operation.

Parsing and validation are cached (LRU, by document text and by document):
a poll of the same query parses and validates once per process. The limits
are still measured on every request, as they depend on the variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    Source,
    parse,
    validate,
)
from graphql.language import Lexer, TokenKind
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from schema.bounds import Limits
from schema.cost import Metrics, measure

__all__ = ["JSON_SAFE", "Metrics", "count_tokens", "limits_extension", "measure"]

CODE = "QUERY_TOO_COMPLEX"
UNCHOSEN = "Must provide operation name if query contains multiple operations."
# Measurements of fragment bombs grow without bound; JavaScript clients read
# integers exactly only up to 2**53 - 1.
JSON_SAFE = 2**53 - 1


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


def document_refusals(metrics: Metrics, limits: Limits) -> list[GraphQLError]:
    checks = (*_shape(metrics, limits), ("cost", metrics.cost, limits.max_cost))
    return [too_complex(name, value, limit) for name, value, limit in checks if value > limit]


def shape_refused(schema: GraphQLSchema, document: DocumentNode, limits: Limits) -> bool:
    """Past a limit the variables cannot change (all but cost): measured in one
    pass (schema/cost.py), for a walk of the document before the request's own
    measure (the cache policy's)."""
    metrics = measure(schema, document, {}, limits)
    return any(value > limit for _, value, limit in _shape(metrics, limits))


def _shape(metrics: Metrics, limits: Limits) -> tuple[tuple[str, int, int], ...]:
    return (
        ("depth", metrics.depth, limits.max_depth),
        ("aliases", metrics.aliases, limits.max_aliases),
        ("rootFields", metrics.fields, limits.max_root_fields),
        ("directives", metrics.directives, limits.max_directives),
    )


def _become(error: GraphQLError, refusal: GraphQLError) -> None:
    """Turn the parser's error in place: Strawberry already holds that object."""
    error.message, error.extensions = refusal.message, refusal.extensions
    error.locations = error.positions = error.nodes = error.source = None


CACHED_DOCUMENTS = 1_000


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _parsed(query: str) -> DocumentNode | None:
    try:
        return parse(query)
    except GraphQLError:  # Strawberry parses it again and reports the error its way
        return None


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _validated(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type, ...]
) -> list[GraphQLError]:
    return validate(schema, document, rules)


def _unchosen(context: ExecutionContext) -> list[GraphQLError]:
    """The spec's request error for several operations and no operationName, which
    Strawberry would answer by running the first (its ``operation_name`` falls back
    to the first operation's name: only the name the request gave tells)."""
    given = getattr(context, "_provided_operation_name", None)
    document = context.graphql_document
    definitions = document.definitions if document is not None else ()
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if given is None and len(operations) > 1:
        return [GraphQLError(UNCHOSEN)]
    return []


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
            elif context.query:
                context.graphql_document = _parsed(context.query)
            yield
            if refusal is not None:
                for error in context.pre_execution_errors or ():
                    _become(error, refusal)

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            if context.graphql_document is None:  # not parsed: the parser's error stands
                yield
                return
            metrics = measure(
                context.schema._schema, context.graphql_document, context.variables or {}, limits
            )
            refusals = document_refusals(metrics, limits) or _unchosen(context)
            # Errors set here skip Strawberry's validation: refused, not worth validating;
            # otherwise the (cached) validation's errors, which may be none.
            schema = context.schema._schema
            rules = tuple(context.validation_rules)
            context.pre_execution_errors = refusals or list(
                _validated(schema, context.graphql_document, rules)
            )
            yield

    return EdgeLimits
