"""Every error leaves as a GraphQL error with ``extensions.code``.

Expected errors (``ApiError`` and the DAL errors ``translate`` knows) keep
their message; UNAVAILABLE ones also carry the request id, and their cause is
logged under it. Anything else is masked: the client sees a request id, the
log has the traceback under the same id.
"""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from resolvers.errors import ApiError, Unavailable, translate

log = logging.getLogger("zebros.errors")
MASKED = "Internal server error"
UNAVAILABLE = Unavailable.code


class ErrorPolicy(MaskErrors):
    def _request_id(self) -> str:
        return str(getattr(self.execution_context.context, "request_id", "-"))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._process(error) for error in errors]

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            # Parse, validation and variable errors: the client's request is at fault.
            error.extensions = {"code": "BAD_USER_INPUT", **(error.extensions or {})}
            return error
        api = translate(original)
        if api is not None and api.code == UNAVAILABLE:
            return self._unavailable(error, api, original)
        if api is not None:
            return self._copy(error, str(api), api.extensions, api)
        request_id = self._request_id()
        log.error(
            "request %s: unexpected error at %s",
            request_id,
            error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        extensions: dict[str, object] = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        return self._copy(error, MASKED, extensions, None)

    def _unavailable(self, error: GraphQLError, api: ApiError, cause: Exception) -> GraphQLError:
        """Retryable, and worth a line in the log: the cause is there, not in the answer."""
        request_id = self._request_id()
        log.warning("request %s: store unavailable at %s: %s", request_id, error.path, cause)
        extensions = {**api.extensions, "requestId": request_id}
        return self._copy(error, str(api), extensions, api)

    @staticmethod
    def _copy(
        error: GraphQLError,
        message: str,
        extensions: dict[str, object],
        original: Exception | None,
    ) -> GraphQLError:
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=original,
            extensions=extensions,
        )
