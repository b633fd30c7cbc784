"""The ``zebros`` commands: serve, init, seed, token, schema, tenant, iac; worker,
backup and restore (``jobs/commands.py``); privacy (``jobs/privacy/commands.py``).

Settings come from server.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

import auth
import schema
from dal.cache.generations import FIELDS
from dal.dynamodb.provision import create_tables
from dal.dynamodb.tables import TENANT_TABLES, TENANTS
from dal.errors import AlreadyExists, TenantHasData
from dal.loading import bulk
from dal.loading.seed import DEMO_ADMIN, DEMO_TENANT, bulk_seed_demo, seed_demo
from dal.models import Role
from dal.storage.buckets import create_buckets
from dal.sync.merge import Strategy
from dal.tenancy.scope import InvalidTenant, Model
from deploy import cli as iac
from edge.connection import ServeConfig
from jobs import commands
from jobs.privacy import commands as privacy
from observe import logs
from server import create_app, in_process_worker, settings_from_env
from services import Services, bucket_settings, open_services, redis_client
from settings import Settings

log = logging.getLogger("zebros")
TOKEN_TTL_DEMO = 12 * 3600


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zebros", description="Zebros CRM GraphQL API")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded AWS when no endpoint is set)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-seed", action="store_true", help="embedded mode: skip demo data")
    serve.add_argument(
        "--workers", type=int, default=1, help="processes (containers); needs store endpoints"
    )
    sub.add_parser("init", help="create tables, indexes and buckets (idempotent)")
    seed = sub.add_parser("seed", help="load the demo tenant (idempotent)")
    seed.add_argument("--customers", type=int, default=50)
    seed.add_argument(
        "--bulk",
        action="store_true",
        help="BatchWriteItem into an EMPTY demo tenant: no transactions, no change log",
    )
    token = sub.add_parser("token", help="print a JWT the server accepts (HS256 secret)")
    token.add_argument("--tenant", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    sub.add_parser("schema", help="print the GraphQL SDL")
    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(
        dest="action", required=True
    )
    create = tenant.add_parser("create", help="register a tenant (and its tables for a silo)")
    create.add_argument("tenant_id", metavar="ID")
    create.add_argument("--model", required=True, choices=[m.value for m in Model])
    create.add_argument(
        "--time-zone",
        default=None,
        help="IANA zone reports bucket days in; fixed once set (default: the tenancy default, UTC)",
    )
    create.add_argument(
        "--sync-strategy",
        default=None,
        choices=[s.value for s in Strategy],
        help="conflict strategy of its sync pushes that name none (default: ZEBROS_SYNC__STRATEGY)",
    )
    iac.add_arguments(
        sub.add_parser("iac", help="print the CloudFormation template (JSON or YAML)")
    )
    commands.add_arguments(sub)
    privacy.add_arguments(sub)
    return p


def run(settings: Settings, argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure(settings.log_level, settings.logs_as())
    if args.command == "iac":
        return iac.run(args)
    if args.command == "schema":
        sys.stdout.write(schema.sdl())
        return 0
    if args.command == "token":
        return _token(settings, args)
    if args.command == "serve" and args.workers > 1:
        return _serve_workers(settings, args)
    if args.command == "serve":
        return asyncio.run(_serve(settings, args))
    if settings.embedded:
        print(
            f"zebros {args.command}: set ZEBROS_AWS__ENDPOINT_URL (or ZEBROS_ENV=prod for AWS);"
            " embedded mode initialises itself on `zebros serve`",
            file=sys.stderr,
        )
        return 2
    if args.command in ("worker", "backup", "restore"):
        return commands.run(settings, args)
    if args.command == "privacy":
        return asyncio.run(privacy.run(settings, args))
    if args.command == "tenant":
        zone = args.time_zone or settings.tenancy.default_time_zone
        new = _tenant_create(settings, args.tenant_id, Model(args.model), zone, args.sync_strategy)
        return asyncio.run(new)
    if args.command == "seed":
        return asyncio.run(_seed(settings, args.customers, args.bulk))
    asyncio.run(_init(settings))
    return 0


async def _tenant_create(
    settings: Settings, tenant_id: str, model: Model, zone: str, strategy: str | None = None
) -> int:
    async with open_services(settings) as services:
        try:
            await services.store.tenants.create(tenant_id, model, zone, strategy)
        except (AlreadyExists, InvalidTenant, TenantHasData) as exc:
            why = "already exists" if isinstance(exc, AlreadyExists) else str(exc)
            print(f"zebros tenant create: {tenant_id}: {why}", file=sys.stderr)
            return 1
    print(f"tenant {tenant_id} created ({model.value}, reports in {zone})")
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    secret = settings.jwt_secret()
    if secret is None:
        print("zebros token: no HS256 secret configured (ZEBROS_AUTH__JWT_SECRET)", file=sys.stderr)
        return 2
    print(auth.mint(secret, tenant=args.tenant, user=args.user, role=Role(args.role), ttl=args.ttl))
    return 0


async def _init(settings: Settings) -> None:
    async with open_services(settings) as services:
        await _provision(services)


async def _provision(services: Services) -> None:
    s = services.settings
    tables = await create_tables(services.dynamo_client, s.dynamo.table_prefix)
    names = bucket_settings(s).names()
    buckets = await create_buckets(services.s3_client, bucket_settings(s))
    # What was made and what was there: a second init says it created nothing.
    shared = {f"{s.dynamo.table_prefix}{t.entity}" for t in (*TENANT_TABLES, TENANTS)}
    made = len(shared.intersection(tables))
    log.info(
        "init: tables %d created, %d found; buckets %d created, %d found%s",
        made,
        len(shared) - made,
        len(buckets),
        len(names) - len(buckets),
        f"; {len(tables) - made} silo table(s) created" if len(tables) > made else "",
    )


async def _seed(settings: Settings, customers: int, bulk_load: bool) -> int:
    async with open_services(settings) as services:
        repos = services.store.for_tenant(DEMO_TENANT)
        if bulk_load and (held := await bulk.occupied(repos)) is not None:
            print(
                f"zebros seed --bulk: tenant {DEMO_TENANT} is not empty ({held.value});"
                " --bulk loads only an empty tenant (`zebros seed` fills in what is missing)",
                file=sys.stderr,
            )
            return 1
        seeding = bulk_seed_demo if bulk_load else seed_demo
        summary = await seeding(repos, customers=customers)
        if bulk_load:  # bulk loads tell the cache nothing (a Redis may remember a demo)
            await services.cache.bump(DEMO_TENANT, FIELDS)
        log.info("seed: tenant %s has %s", DEMO_TENANT, summary)
    return 0


@asynccontextmanager
async def _services_for_serve(settings: Settings) -> AsyncIterator[Services]:
    """Open clients; in embedded mode first start moto and pick a Redis that answers.
    moto and fakeredis are the ``embedded`` extra: imported only here, so images
    and Lambda packages without them serve real stores."""
    if not settings.embedded:
        async with open_services(settings) as services:
            yield services
        return
    import embedded  # the embedded extra (moto, fakeredis)

    aws = embedded.EmbeddedAws()
    settings = embedded.with_endpoint(settings, aws.start())
    redis = await embedded.reachable_redis(redis_client(settings)) or embedded.fake_redis()
    try:
        async with open_services(settings, redis) as services:
            yield services
    finally:
        aws.stop()


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    async with _services_for_serve(settings) as services:
        ide_headers: dict[str, str] | None = None
        if settings.embedded:
            await _provision(services)
            if not args.no_seed:
                # The in-memory store is new and empty: bulk writes are safe and fast.
                summary = await bulk_seed_demo(services.store.for_tenant(DEMO_TENANT))
                log.info("seeded tenant %s: %s", DEMO_TENANT, summary)
            # A new in-memory store: what a Redis that outlived the last run holds of
            # the demo tenant describes other data. Bulk loads tell the cache nothing.
            await services.cache.bump(DEMO_TENANT, FIELDS)
            token = _demo_token(settings)
            _banner(args, token)
            # GraphiQL's headers editor comes prefilled with the banner's demo token.
            ide_headers = {"Authorization": f"Bearer {token}"}
        app = create_app(services.settings, services, ide_headers=ide_headers)
        config = _config(app, settings, args)
        async with in_process_worker(services.settings, services):
            await uvicorn.Server(config).serve()
    return 0


def _config(app: Any, settings: Settings, args: argparse.Namespace, **more: Any) -> ServeConfig:
    given = settings.server
    return ServeConfig(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        log_config=None,  # our handler (observe.logs), not uvicorn's
        # Our request line replaces the access log, whose URL would carry a GET
        # query's variables (personal data) into the logs.
        access_log=False,
        timeout_graceful_shutdown=given.graceful_shutdown_seconds,
        timeout_keep_alive=given.keep_alive_seconds,
        header_timeout=given.header_timeout_seconds,
        **more,
    )


def _serve_workers(settings: Settings, args: argparse.Namespace) -> int:
    """N uvicorn processes, each building the app from the environment (server.app)."""
    if settings.embedded:
        print(
            "zebros serve --workers: each worker needs the same store; set"
            " ZEBROS_AWS__DYNAMODB_ENDPOINT_URL and ZEBROS_AWS__S3_ENDPOINT_URL"
            " (or ZEBROS_ENV=prod)",
            file=sys.stderr,
        )
        return 2
    # uvicorn.run's way with workers, on our config (each worker sets up observe.logs
    # in server.app).
    config = _config("server:app", settings, args, factory=True, workers=args.workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
    return 0


def _demo_token(settings: Settings) -> str:
    return auth.mint(
        settings.jwt_secret() or "",
        tenant=DEMO_TENANT,
        user=DEMO_ADMIN,
        role=Role.ADMIN,
        ttl=TOKEN_TTL_DEMO,
    )


def _banner(args: argparse.Namespace, token: str) -> None:
    print(
        f"\nZebros CRM (embedded): GraphiQL at http://{args.host}:{args.port}/graphql\n"
        "Paste into GraphiQL's Headers tab (valid 12 hours):\n"
        f'{{"Authorization": "Bearer {token}"}}\n',
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    """The ``zebros`` command (pyproject: ``zebros = "cli:main"``)."""
    raise SystemExit(run(settings_from_env(), argv))


if __name__ == "__main__":
    main()
