"""The two ASGI apps ``bench/http.py`` serves with uvicorn (``--factory``).

``zebros``: the API exactly as deployed, ``server.create_app(Settings())``, its
settings from the ``ZEBROS_`` environment. ``plain``: the ceiling, a bare
Starlette route answering the bytes and content type found in the files
named by ``BODY_ENV`` and ``TYPE_ENV`` (the answer the API gave to scenario b).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import create_app
from settings import Settings

BODY_ENV = "ZEBROS_BENCH_PLAIN_BODY"
TYPE_ENV = "ZEBROS_BENCH_PLAIN_TYPE"


def zebros() -> Starlette:
    return create_app(Settings())


def plain() -> Starlette:
    body = Path(os.environ[BODY_ENV]).read_bytes()
    content_type = Path(os.environ[TYPE_ENV]).read_text()

    async def answer(request: Request) -> Response:
        return Response(body, headers={"content-type": content_type})

    return Starlette(routes=[Route("/graphql", answer)])
