"""Job handlers and the worker that runs them (in-process, ``zebros worker``, or Lambda).

They sit beside ``resolvers/``, not in ``dal/``: an import runs each row as the
API's own mutation on the schema, so it validates and fails as the API does.
"""
