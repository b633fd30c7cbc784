"""The HTTP edge of /graphql: pure ASGI middleware in front of the Strawberry view.

Outermost first: ``request_id`` (every response carries ``x-request-id``),
``errors`` (the catch-all), ``transport`` (methods, content type), ``body``
(size, read timeout), ``gate`` (bearer token), ``ratelimit``, then ``view``.
``server.py`` composes the stack; each layer receives what it needs through
its constructor and none reads settings. Every refusal, at any layer, has the
one GraphQL-shaped body of ``envelope``.
"""
