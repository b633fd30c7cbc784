"""GraphiQL offline: the page for a GET of /graphql (dev only), and its assets.

The bundle (React, GraphiQL, their CSS and fonts) is built from ``graphiql/``
with npm into ``edge/static/graphiql/`` and shipped in the package, so the page
loads nothing from a CDN: it works with no internet. The page names each asset
with its content hash (``?v=``); an asset asked for with its current hash may
be cached for a year, since a rebuild changes the URL the page names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

STATIC = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/graphql/static/graphiql"
ROUTE = PREFIX + "/{name}"  # for server.py: Route(ROUTE, asset)
SCRIPT, STYLE = "graphiql.js", "graphiql.css"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"
# The URL without its hash, or a stale one: the content may change with the next build.
REVALIDATE = "no-cache"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    version: str  # the first 16 hex digits of its SHA-256


@cache
def assets() -> dict[str, Asset]:
    """The built files, read once: a few MB at most, and dev only."""
    found = {
        path.name: _read(path)
        for path in sorted(STATIC.glob("*"))
        if path.is_file() and path.suffix in MEDIA_TYPES
    }
    missing = {SCRIPT, STYLE} - found.keys()
    if missing:  # a checkout without the built files, or a package without its data
        raise RuntimeError(
            f"GraphiQL assets {sorted(missing)} missing from {STATIC}:"
            " build them with `npm ci && npm run build` in graphiql/"
        )
    return found


def page(headers: dict[str, str] | None = None) -> str:
    """The GraphiQL page; ``headers`` (a demo token, say) prefill its headers editor.
    Its empty icon spares the browser a /favicon.ico request (a 404 in its console)."""
    built = assets()
    style, script = _url(STYLE, built[STYLE]), _url(SCRIPT, built[SCRIPT])
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zebros CRM · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{style}">
</head>
<body style="margin:0">
<div id="graphiql" style="height:100vh">Loading…</div>
{_settings(headers)}<script src="{script}"></script>
</body>
</html>
"""


def page_response(headers: dict[str, str] | None = None) -> Response:
    # no-store: the page may carry a bearer token, no cache should keep it.
    return HTMLResponse(page(headers), headers={"Cache-Control": "no-store"})


async def asset(request: Request) -> Response:
    """GET /graphql/static/graphiql/{name}: a built file, nothing else (no paths)."""
    found = assets().get(request.path_params["name"])
    if found is None:
        return PlainTextResponse("Not Found", status_code=404)
    etag = f'"{found.version}"'
    hashed = request.query_params.get("v") == found.version
    headers = {
        "Cache-Control": IMMUTABLE if hashed else REVALIDATE,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def _read(path: Path) -> Asset:
    body = path.read_bytes()
    return Asset(body, MEDIA_TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:16])


def _url(name: str, built: Asset) -> str:
    return escape(f"{PREFIX}/{name}?v={built.version}")


def _settings(headers: dict[str, str] | None) -> str:
    """The JSON blob the bundle reads; "<" escaped, so no value can close the script."""
    if not headers:
        return ""
    blob = json.dumps({"headers": headers}).replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script id="zebros-ide" type="application/json">{blob}</script>\n'
