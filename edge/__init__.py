"""The HTTP edge of /graphql: pure ASGI middleware in front of the Strawberry view.

``server.py`` composes the stack; each layer receives what it needs through
its constructor and none reads settings. A refusal at any layer has the one
GraphQL-shaped body of ``envelope``.
"""
