"""The GraphQL schema: root types and the extensions every request runs through."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.types import ExecutionContext

from schema.errors import ErrorPolicy
from schema.mutation import Mutation
from schema.query import Query


class ZebrosSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """ErrorPolicy logs what needs logging; client errors are not server news."""


def build_schema(**_: Any) -> ZebrosSchema:
    # Extensions are passed as classes: Strawberry builds one per request, so
    # no state is shared between concurrent requests.
    return ZebrosSchema(query=Query, mutation=Mutation, extensions=[ErrorPolicy])


def sdl() -> str:
    return build_schema().as_str() + "\n"
