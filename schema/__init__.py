"""The GraphQL schema: root types and the extensions every request runs through."""

from __future__ import annotations

import re
from functools import lru_cache

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.schema.config import BatchingConfig, StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from dal.cache.keys import digest
from dal.models import Entity
from resolvers.loaders import RecordHints
from schema import types
from schema.bounds import Limits
from schema.caching import CacheControl
from schema.errors import ErrorPolicy
from schema.limits import limits_extension
from schema.mutation import Mutation
from schema.query import Query
from schema.read_audit import ReadAudit
from schema.scalars import SCALARS

# graphql-core ends every suggestion with it: unknown fields, arguments, types,
# enum values and input fields alike.
SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


class ZebrosSchema(strawberry.Schema):
    hide_suggestions = False

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """ErrorPolicy logs what needs logging; client errors are not server news.

        Suggestions are dropped here, not only for fields as Strawberry does:
        "Did you mean" lets a client without introspection map the schema.
        """
        if self.hide_suggestions:
            for error in errors:
                error.message = SUGGESTION.sub("", error.message)


def build_schema(
    *,
    limits: Limits | None = None,
    introspection: bool = True,
    suggestions: bool = True,
    max_batch: int = 1,
) -> ZebrosSchema:
    """The defaults are development's; server.py passes prod's from the settings."""
    # Extensions are passed as classes: Strawberry builds one per request, so
    # no state is shared between concurrent requests.
    extensions: list[type[SchemaExtension]] = [
        ErrorPolicy,
        limits_extension(limits or Limits()),
        ReadAudit,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    # No batching config: Strawberry refuses a JSON array body (HTTP 400).
    batching = BatchingConfig(max_operations=max_batch) if max_batch > 1 else None
    config = StrawberryConfig(
        disable_field_suggestions=not suggestions,
        batching_config=batching,
        scalar_map=SCALARS,
    )
    built = ZebrosSchema(query=Query, mutation=Mutation, extensions=extensions, config=config)
    built.hide_suggestions = not suggestions
    return built


def sdl() -> str:
    return build_schema().as_str() + "\n"


@lru_cache(maxsize=1)
def release() -> str:
    """Names this schema in cache keys: values pickled by another release are never read."""
    return digest(sdl())[:12]


def record_hints() -> RecordHints:
    """Entity -> (layer, TTL) of the object types cached as records (``@cacheControl``)."""
    out: RecordHints = {}
    for cls in (types.Customer, types.Contact, types.Opportunity, types.Activity, types.User):
        definition = get_object_definition(cls, strict=True)
        for directive in definition.directives or ():
            if isinstance(directive, CacheControl):
                entity = Entity[definition.name.upper()].value
                out[entity] = (directive.layer.value, float(directive.max_age))
    return out
