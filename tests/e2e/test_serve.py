"""`zebros serve` as a user starts it: embedded AWS, demo data, a token, a query over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.serving import ROOT, demo_token

QUERY = "query { me { id role } customers(first: 100) { edges { node { id owner { id } } } } }"


@pytest.mark.e2e
def test_served_graph_answers_with_seeded_demo_data(server: str) -> None:
    headers = {"Authorization": f"Bearer {demo_token()}"}
    response = httpx.post(f"{server}/graphql", json={"query": QUERY}, headers=headers, timeout=30)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["me"] == {"id": "demo-admin", "role": "ADMIN"}
    edges = data["customers"]["edges"]
    assert len(edges) == 50
    assert all(e["node"]["owner"] is not None for e in edges)


@pytest.mark.e2e
def test_served_graphiql_and_readiness(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    ready = httpx.get(f"{server}/readyz", timeout=10).json()
    assert ready["ready"] is True
    no_token = httpx.post(f"{server}/graphql", json={"query": QUERY}, timeout=10)
    assert no_token.status_code == 401


def _graphql(server: str, query: str, variables: dict[str, object]) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {demo_token()}"}
    body = {"query": query, "variables": variables}
    response = httpx.post(f"{server}/graphql", json=body, headers=headers, timeout=30)
    answer: dict[str, object] = response.json()
    assert "errors" not in answer, answer
    data: dict[str, object] = answer["data"]  # type: ignore[assignment]
    return data


TICKET = """mutation($c: ID!, $s: Int!) {
  requestDocumentUpload(customerId: $c, fileName: "Q3 report; final.pdf",
                        contentType: "application/pdf", size: $s) { key url fields }
}"""
CONFIRM = (
    "mutation($c: ID!, $k: String!) { confirmDocumentUpload(customerId: $c, key: $k) { url } }"
)
FILES = "query($c: ID!) { customer(id: $c) { documents { key name url } } }"
DELETE = "mutation($c: ID!, $k: String!) { deleteDocument(customerId: $c, key: $k) }"
# README "Documents and attachments", verbatim: the test fails if the README changes it.
README_UPLOAD = """\
mapfile -t form < <(jq -r '.fields | to_entries[] | "--form-string", "\\(.key)=\\(.value)"' ticket.json)
curl -sS --fail "${form[@]}" -F "file=@report.pdf" "$(jq -r .url ticket.json)"
"""  # noqa: E501 (verbatim)


def _curl(*args: str) -> str:
    done = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode(errors="replace")


@pytest.mark.e2e
def test_a_file_goes_up_with_curl_as_the_readme_shows(server: str, tmp_path: Path) -> None:
    """README "Documents": a ticket from the API, the README's curl upload run by bash,
    confirm, list, download, delete; against the embedded S3 of `zebros serve`."""
    assert README_UPLOAD in (ROOT / "README.md").read_text()
    first = _graphql(server, "{ customers(first: 1) { edges { node { id } } } }", {})
    customer = first["customers"]["edges"][0]["node"]["id"]  # type: ignore[index]
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.7 " + os.urandom(2048))
    made = _graphql(server, TICKET, {"c": customer, "s": report.stat().st_size})
    (tmp_path / "ticket.json").write_text(json.dumps(made["requestDocumentUpload"]))
    done = subprocess.run(
        ["bash", "-c", README_UPLOAD], cwd=tmp_path, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    key = str(made["requestDocumentUpload"]["key"])  # type: ignore[index]
    _graphql(server, CONFIRM, {"c": customer, "k": key})
    listed = _graphql(server, FILES, {"c": customer})["customer"]["documents"]  # type: ignore[index]
    mine = [d for d in listed if d["key"] == key]
    assert [d["name"] for d in mine] == ["Q3 report; final.pdf"]
    saved = tmp_path / "downloaded.pdf"
    _curl("-o", str(saved), mine[0]["url"])
    assert saved.read_bytes() == report.read_bytes()
    assert _graphql(server, DELETE, {"c": customer, "k": key})["deleteDocument"] is True


def _readme_block(marker: str) -> str:
    """The ```bash block of the README that contains ``marker``."""
    blocks = (ROOT / "README.md").read_text().split("```bash\n")[1:]
    found = [b.split("```", 1)[0] for b in blocks if marker in b]
    assert len(found) == 1, f"one README block with {marker!r}"
    return found[0]


@pytest.mark.e2e
def test_a_csv_import_runs_as_the_readme_shows(server: str, tmp_path: Path) -> None:
    """README "Jobs": upload, start, watch the in-process worker run it, download the
    rejected rows; the README's block run by bash against `zebros serve`."""
    env = {**os.environ, "TOKEN": demo_token(), "API": f"{server}/graphql"}
    block = _readme_block("requestImportUpload")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path, env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    job = json.loads(lines[-3])
    assert job["status"] == "SUCCEEDED"
    assert job["message"] == "1 created, 0 updated, 0 unchanged, 1 rejected"
    assert lines[-2:] == [
        "row,field,reason,id,companyName,industry,tier,contactInfo,ownerId",
        "2,companyName,companyName must not be empty,,  ,Nothing,FREE,,",
    ]
