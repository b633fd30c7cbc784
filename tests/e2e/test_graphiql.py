"""GraphiQL in a real headless Chromium, every request to a host but 127.0.0.1 refused:
the page, its bundle and a query typed into it need nothing but `zebros serve` (no CDN).

Debian's chromium is driven by the Python playwright package, which downloads no
browser of its own here (no `playwright install`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from edge import ide
from tests.e2e.serving import demo_token

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Request, Route

CHROMIUM = Path(os.environ.get("ZEBROS_TEST_CHROMIUM", "/usr/bin/chromium"))
QUERY = "{ me { id role } }"
TIMEOUT_MS = 20_000
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESULT = ".result-window .CodeMirror"
# What a browser logs for a 401: the one introspection GraphiQL sends on load before
# its headers editor exists, when the page carries no headers to send instead.
UNAUTHORIZED = "the server responded with a status of 401"


@dataclass
class Visit:
    page: Page
    aborted: list[str] = field(default_factory=list)  # requests off 127.0.0.1, refused
    local: list[str] = field(default_factory=list)  # requests let through
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions
    posts: list[Request] = field(default_factory=list)  # POSTs to /graphql


@contextmanager
def _visit(url: str, document: str | None = None) -> Iterator[Visit]:
    """A fresh headless Chromium on ``url``, offline but for 127.0.0.1; ``document``
    replaces the HTML the server answers (the assets still come from the server)."""
    sync_playwright = _playwright()
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: apt-get install chromium"
            " (or set ZEBROS_TEST_CHROMIUM to a Chromium binary)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(TIMEOUT_MS)
            visit = Visit(page)
            page.route("**/*", lambda route: _offline(route, visit, document))
            page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: visit.errors.append(f"uncaught: {exc}"))
            page.on("request", lambda r: _graphql_post(r, visit))
            page.goto(url)
            page.wait_for_selector(f"{QUERY_EDITOR} .CodeMirror-code")
            yield visit
        finally:
            browser.close()


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the browser tests need playwright: .venv/bin/pip install playwright==1.65.2"
            " (its own browsers are not needed: the tests drive /usr/bin/chromium)"
        )
    return sync_playwright


def _offline(route: Route, visit: Visit, document: str | None) -> None:
    request_url = route.request.url
    if urlsplit(request_url).hostname != "127.0.0.1":
        visit.aborted.append(request_url)
        route.abort("internetdisconnected")
    elif document is not None and route.request.resource_type == "document":
        visit.local.append(request_url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=document)
    else:
        visit.local.append(request_url)
        route.continue_()


def _graphql_post(request: Request, visit: Visit) -> None:
    if request.method == "POST" and urlsplit(request.url).path == "/graphql":
        visit.posts.append(request)


def _value(editor: Locator) -> str:
    """A CodeMirror 5 editor's text (its DOM holds only the lines on screen)."""
    value: str = editor.evaluate("element => element.CodeMirror.getValue()")
    return value


def _type_into(page: Page, editor: Locator, text: str) -> None:
    """Clear the editor and type ``text`` key by key. The editors close brackets and
    quotes as they open, and step over a closing one typed: the text comes out whole."""
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.type(text)
    page.keyboard.press("Escape")  # closes an autocompletion list, if one is open
    assert " ".join(_value(editor).split()) == " ".join(text.split())


def _run_and_read(visit: Visit) -> dict[str, Any]:
    """Run the query with the button, wait for the result pane, and parse it."""
    page = visit.page
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    page.wait_for_function(
        """selector => {
            const editor = document.querySelector(selector);
            return editor && editor.CodeMirror.getValue().includes('"me"');
        }""",
        arg=RESULT,
    )
    result: dict[str, Any] = json.loads(_value(page.locator(RESULT)))
    return result


def _sent_query(visit: Visit) -> Request:
    """The one POST that carried the typed query (not GraphiQL's introspection)."""
    sent = [r for r in visit.posts if "IntrospectionQuery" not in (r.post_data or "")]
    assert len(sent) == 1, [r.post_data for r in visit.posts]
    return sent[0]


def _assets_served(base: str) -> None:
    """The page's assets answer (else the browser would only show "Loading…")."""
    for name, built in ide.assets().items():
        asset = httpx.get(f"{base}{ide.PREFIX}/{name}?v={built.version}", timeout=10)
        assert asset.status_code == 200, (
            f"{ide.PREFIX}/{name}: {asset.status_code}; server.py must route"
            " Route(ide.ROUTE, ide.asset) in dev"
        )
        assert asset.headers["content-type"] == built.media_type
        assert asset.headers["cache-control"] == ide.IMMUTABLE
        assert asset.content == built.body


@pytest.mark.e2e
def test_graphiql_runs_a_typed_query_with_no_internet(server: str) -> None:
    _assets_served(server)
    served_page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html"}, timeout=10)
    prefilled = 'id="zebros-ide"' in served_page.text
    with _visit(f"{server}/graphql") as visit:
        page = visit.page
        page.get_by_role("button", name="Headers", exact=True).click()
        headers = page.locator(HEADERS_EDITOR)
        if prefilled:  # embedded mode: the banner's demo token, already there
            page.wait_for_function(
                "s => document.querySelector(s).CodeMirror.getValue().includes('Bearer ')",
                arg=HEADERS_EDITOR,
            )
        else:
            _type_into(page, headers, json.dumps({"Authorization": f"Bearer {demo_token()}"}))
        _type_into(page, page.locator(QUERY_EDITOR), QUERY)
        result = _run_and_read(visit)
        sent = _sent_query(visit)
    assert result == {"data": {"me": {"id": "demo-admin", "role": "ADMIN"}}}
    assert json.loads(sent.post_data or "")["query"] == QUERY
    assert sent.headers["authorization"].startswith("Bearer ")
    assert sent.headers["content-type"] == "application/json"
    assert visit.aborted == []
    assert {urlsplit(u).path for u in visit.local} >= {"/graphql", f"{ide.PREFIX}/graphiql.js"}
    allowed = [] if prefilled else [e for e in visit.errors if UNAUTHORIZED in e][:1]
    assert visit.errors == allowed


@pytest.mark.e2e
def test_graphiql_sends_the_headers_its_page_carries(server: str) -> None:
    """The page ide.page builds with headers (what embedded mode serves): the editor
    holds them, the first introspection and the default query are sent them."""
    _assets_served(server)
    token = demo_token()
    document = ide.page({"Authorization": f"Bearer {token}"})
    with _visit(f"{server}/graphql", document) as visit:
        page = visit.page
        headers = page.locator(HEADERS_EDITOR)
        headers.wait_for()
        assert json.loads(_value(headers)) == {"Authorization": f"Bearer {token}"}
        # The docs explorer lists the schema's root type: the introspection got in.
        page.get_by_role("button", name="Show Documentation Explorer").click()
        page.wait_for_function(
            "() => document.querySelector('.graphiql-doc-explorer')?.innerText"
            ".includes('query: Query')"
        )
        result = _run_and_read(visit)
        sent = _sent_query(visit)
    assert result["data"]["me"] == {"id": "demo-admin", "role": "ADMIN"}
    introspection = [r for r in visit.posts if "IntrospectionQuery" in (r.post_data or "")]
    assert [r.headers.get("authorization") for r in introspection] == [f"Bearer {token}"]
    assert sent.headers["authorization"] == f"Bearer {token}"
    assert visit.aborted == []
    assert visit.errors == []
