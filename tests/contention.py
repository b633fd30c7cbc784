"""Many writers at once in one tenant, through the API, with DynamoDB's conflict rule
(``conflict_proxy.py``) in front of DynamoDB Local. Shared by the contention tests
and ``bench/contention.py``, which prints the figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

import auth
from dal.models import Role
from server import create_app
from services import Services, open_services
from settings import Settings
from tests.conflict_proxy import Proxy

CREATE_USER = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }"
CREATE_CUSTOMER = "mutation($n: String!) { createCustomer(input: {companyName: $n}) { id } }"
CREATE_DEAL = """mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }"""
MOVE_DEAL = """mutation($id: ID!, $stage: OpportunityStage!) {
  updateOpportunity(id: $id, input: {stage: $stage}) { id stage } }"""
CREATE_CONTACT = """mutation($c: ID!, $n: String!) {
  createContact(input: {customerId: $c, firstName: "Ann", lastName: $n}) { id } }"""
STAGES = ("QUALIFIED", "PROPOSAL", "NEGOTIATION", "CLOSED_WON", "CLOSED_LOST")
OWNERS = ("u-rep-a", "u-rep-b", "u-rep-c")
Writes = list[tuple[str, dict[str, Any]]]


@dataclass
class Outcome:
    answers: list[dict[str, Any]]
    seconds: float
    requests: int  # write requests the proxy saw
    refused: int  # of those, refused as DynamoDB would (a transaction in progress)
    retried: int  # conflicts the data layer retried

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [a for a in self.answers if a.get("errors")]


class Crowd:
    """One tenant's API client, its services talking to DynamoDB through the proxy."""

    def __init__(self, http: httpx.AsyncClient, services: Services, proxy: Proxy) -> None:
        self.http, self.services, self.proxy = http, services, proxy
        self.tenant = ""
        self._secret = services.settings.jwt_secret() or ""

    async def ask(self, document: str, **variables: Any) -> dict[str, Any]:
        token = auth.mint(self._secret, tenant=self.tenant, user="u-admin", role=Role.ADMIN)
        headers = {"Authorization": f"Bearer {token}"}
        body = {"query": document, "variables": variables}
        answer: dict[str, Any] = (
            await self.http.post("/graphql", json=body, headers=headers)
        ).json()
        return answer

    async def setup(self, tenant: str, customers: int) -> list[str]:
        """Owners and ``customers`` customers, one at a time; their ids."""
        self.tenant = tenant
        for owner in OWNERS:
            user = {
                "id": owner,
                "username": owner,
                "email": f"{owner}@x.example",
                "role": "SALES_REP",
            }
            assert "errors" not in await self.ask(CREATE_USER, i=user)
        found = [await self.ask(CREATE_CUSTOMER, n=f"Crowd {n}") for n in range(customers)]
        return [str(a["data"]["createCustomer"]["id"]) for a in found]

    async def at_once(self, writes: Writes) -> Outcome:
        seen, refused = self.proxy.counts()
        retried = self.services.store.dynamo.conflicts
        started = time.perf_counter()
        answers = await asyncio.gather(*(self.ask(doc, **v) for doc, v in writes))
        seconds = time.perf_counter() - started
        seen_after, refused_after = self.proxy.counts()
        retried_after = self.services.store.dynamo.conflicts
        return Outcome(
            answers, seconds, seen_after - seen, refused_after - refused, retried_after - retried
        )


def deal(customer: str, n: int) -> dict[str, Any]:
    close = (date(2026, 12, 1) + timedelta(days=n % 40)).isoformat()
    return {
        "customerId": customer,
        "title": f"Deal {n}",
        "value": f"{1000 + n}.{n % 100:02d}",
        "ownerId": OWNERS[n % len(OWNERS)],
        "expectedCloseDate": close,
    }


def deal_writes(
    customers: list[str], deals: list[str], creates: int
) -> list[tuple[str, dict[str, Any]]]:
    """``creates`` new deals spread over the customers, and a stage change of each of
    ``deals``: every write adds to the tenant's pipeline, leads and forecast."""
    new = [(CREATE_DEAL, {"i": deal(customers[n % len(customers)], n)}) for n in range(creates)]
    moves = [(MOVE_DEAL, {"id": d, "stage": STAGES[n % len(STAGES)]}) for n, d in enumerate(deals)]
    return (
        [w for pair in zip(new, moves, strict=False) for w in pair]
        + new[len(moves) :]
        + moves[len(new) :]
    )


@asynccontextmanager
async def crowd(settings: Settings, dynamodb: str) -> AsyncIterator[Crowd]:
    with Proxy(dynamodb) as proxy:
        aws = settings.aws.model_copy(update={"dynamodb_endpoint_url": proxy.url})
        proxied = settings.model_copy(update={"aws": aws})
        async with open_services(proxied) as services:
            transport = httpx.ASGITransport(app=create_app(proxied, services))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://zebros.test"
            ) as http:
                yield Crowd(http, services, proxy)
