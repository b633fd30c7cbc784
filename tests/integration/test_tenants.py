"""The tenant lifecycle: registering, refusing, first use in dev and in prod."""

from __future__ import annotations

import pytest

from dal.dynamodb.provision import create_silo_tables
from dal.errors import AlreadyExists, TenantHasData, UnknownTenant
from dal.store import Store
from dal.tenancy.scope import InvalidTenant, Model
from services import Services
from tests.conftest import PREFIX, fresh_tenant
from tests.integration.records import customer


def _store(services: Services, register_unknown: bool) -> Store:
    """A store of its own (its own registry cache), as another server would have."""
    secret = services.settings.cursor_secret()
    return Store(
        services.store.dynamo,
        table_prefix=PREFIX,
        cursor_secret=secret,
        register_unknown=register_unknown,
    )


@pytest.mark.parametrize("stored", list(Model), ids=[m.value for m in Model])
async def test_registering_a_tenant_whose_records_use_another_model_is_refused(
    services: Services, stored: Model
) -> None:
    tenant = fresh_tenant("legacy")
    if stored is Model.SILO:  # a silo's own tables, created as `tenant create` does
        await create_silo_tables(services.dynamo_client, PREFIX, tenant)
    await services.store.for_tenant(tenant, stored).customers.create(customer("cus_old"))
    for other in (m for m in Model if m is not stored):
        with pytest.raises(TenantHasData) as refused:
            await services.store.tenants.create(tenant, other)
        assert refused.value.model == stored.value
    registered = await services.store.tenants.create(tenant, stored)
    assert registered.model is stored
    assert (await services.store.open(tenant)).scope.model is stored
    with pytest.raises(AlreadyExists):
        await services.store.tenants.create(tenant, stored)


async def test_an_unknown_tenant_is_refused_and_not_remembered(services: Services) -> None:
    """A server that does not register tenants refuses an unknown one, and a
    registration made meanwhile elsewhere is seen on the very next request."""
    tenant, here, elsewhere = fresh_tenant("late"), _store(services, False), _store(services, False)
    with pytest.raises(UnknownTenant):
        await here.open(tenant)
    await elsewhere.tenants.create(tenant, Model.POOL)
    assert (await here.open(tenant)).scope.model is Model.POOL


async def test_dev_registers_a_tenant_on_first_use_and_keeps_it(services: Services) -> None:
    tenant, dev = fresh_tenant("newcomer"), _store(services, True)
    assert (await dev.open(tenant)).scope.model is Model.BRIDGE
    found = await _store(services, False).tenants.get(tenant)
    assert found is not None
    assert (found.model, found.time_zone) == (Model.BRIDGE, "UTC")


async def test_a_time_zone_is_an_iana_name(services: Services) -> None:
    with pytest.raises(InvalidTenant):
        await services.store.tenants.create(fresh_tenant("tz"), Model.BRIDGE, "Mars/Olympus")
    made = await services.store.tenants.create(fresh_tenant("tz"), Model.POOL, "Europe/Berlin")
    assert services.store.bind(made).scope.zone.key == "Europe/Berlin"
