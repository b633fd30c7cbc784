"""``zebros privacy``: an admin's tools around privacy requests.

- ``unsuppress --tenant T --email E``: take an erased address off the tenant's
  suppression list, so a contact or user with it may be created again (say,
  the person came back and asked to be a customer);
- ``audit-reads --tenant T on|required|off``: record every read of a personal field
  (Contact names, e-mail, phone, position, details; User e-mail, preferences)
  in the audit log; ``required``: an answer whose read events could not be
  written is withheld (503 UNAVAILABLE), not given unrecorded; servers see the
  change within 5 minutes (the registry's cache);
- ``hold --tenant T on|off``: the tenant's legal hold. On: erasures are
  refused, archived records lose their expiry (TTL purges none) and new
  copies get none; off: every copy expires 7 years after its delete again.
"""

from __future__ import annotations

import argparse
import sys

from dal.errors import UnknownTenant
from dal.store import Repos
from services import open_services
from settings import Settings


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    privacy = sub.add_parser("privacy", help="suppression list and legal hold").add_subparsers(
        dest="action", required=True
    )
    lift = privacy.add_parser("unsuppress", help="take an erased e-mail off the suppression list")
    lift.add_argument("--tenant", required=True)
    lift.add_argument("--email", required=True)
    hold = privacy.add_parser("hold", help="turn a tenant's legal hold on or off")
    hold.add_argument("--tenant", required=True)
    hold.add_argument("state", choices=["on", "off"])
    reads = privacy.add_parser("audit-reads", help="audit reads of personal fields, or stop")
    reads.add_argument("--tenant", required=True)
    reads.add_argument("state", choices=["on", "required", "off"])


async def run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        try:
            repos = await services.store.open(args.tenant)
        except UnknownTenant:
            print(f"zebros privacy: unknown tenant {args.tenant}", file=sys.stderr)
            return 1
        if args.action == "unsuppress":
            return await unsuppress(repos, args.email)
        if args.action == "audit-reads":
            on, required = args.state != "off", args.state == "required"
            await services.store.tenants.set_audit_reads(args.tenant, on, required)
            print(f"reads of personal fields in {args.tenant}: audited {args.state}")
            return 0
        return await hold(repos, args.state == "on")


async def unsuppress(repos: Repos, email: str) -> int:
    if not await repos.suppressions.lift(email):
        print(f"zebros privacy unsuppress: {email} is not suppressed", file=sys.stderr)
        return 1
    print(f"{email} may be created again in {repos.scope.tenant_id}")
    return 0


async def hold(repos: Repos, on: bool) -> int:
    changed = await repos.archive.hold(on)
    state = "on" if on else "off"
    print(f"legal hold {state} for {repos.scope.tenant_id}: {changed} archived records updated")
    return 0
