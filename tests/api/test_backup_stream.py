"""A backup streams each entity file and patches in what changed while it ran: a
record created during the backup is in the files at its place in the tenant index's
order, one deleted meanwhile is not, and the restore of it verifies."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from dal import ids
from dal.loading.seed import bulk_seed_demo
from dal.models import Customer, Entity
from dal.tenancy.scope import Model
from dal.timefmt import utcnow
from jobs import backup_files
from jobs.backup import backup, restore
from services import Services
from tests.conftest import Settle, Tenants, fresh_tenant


def _customer(name: str) -> Customer:
    now = utcnow()
    return Customer(id=ids.new_id(Entity.CUSTOMER), created_at=now, updated_at=now,
                    company_name=name)  # fmt: skip


async def test_writes_during_a_backup_are_patched_into_its_streamed_files(
    settle: Settle, db: Services, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = db.store.for_tenant(tenants.acme)
    await bulk_seed_demo(source, customers=4)
    files = db.store.job_files
    assert files is not None
    leaving, late = _customer("Leaving Midway"), _customer("Joined Midway")
    await source.customers.create(leaving)
    real, passes = backup_files.write, list[Entity]()

    async def writing_meanwhile(*args: Any) -> dict[str, Any]:
        entry = await real(*args)
        passes.append(args[3])
        if len(passes) == 1:  # the customers' file is written: now the tenant moves
            await source.customers.create(late)
            await source.customers.delete(leaving.id)
        return entry

    monkeypatch.setattr(backup_files, "write", writing_meanwhile)
    key, made = await backup(source, files, settle)
    assert passes.count(Entity.CUSTOMER) == 2  # written again, the changes patched in
    assert passes.count(Entity.CONTACT) == 1  # unchanged entities are not
    body = await files.blobs.get(files.bucket("backups"), made.files["CUSTOMER"]["key"])
    names = {r["id"]: r["companyName"] for r in map(json.loads, body.splitlines())}
    assert names[late.id] == "Joined Midway"
    assert leaving.id not in names
    assert made.files["CUSTOMER"]["count"] == 5
    target = fresh_tenant("restored")
    await db.store.tenants.create(target, Model.POOL)
    await restore(await db.store.open(target), files, key)  # verifies counts and sums


async def test_a_restore_keeps_the_versions_the_backup_holds(
    settle: Settle, db: Services, tenants: Tenants
) -> None:
    """A record edited before the backup comes back at its version, not at 1 (the
    bulk load writes creates): the restore verifies, and a synced device's version
    still names the record's state."""
    source = db.store.for_tenant(tenants.acme)
    edited = _customer("Edited Twice")
    await source.customers.create(edited)
    for name in ("Edited Once More", "Edited Twice More"):

        def renamed(c: Customer, n: str = name) -> Customer:
            return replace(c, company_name=n)

        await source.customers.update(edited.id, renamed)
    files = db.store.job_files
    assert files is not None
    key, _ = await backup(source, files, settle)
    target = fresh_tenant("versions")
    await db.store.tenants.create(target, Model.POOL)
    restored = await db.store.open(target)
    await restore(restored, files, key)  # verifies counts and sums, versions included
    back = await restored.customers.get(edited.id)
    assert back is not None
    assert (back.version, back.company_name) == (3, "Edited Twice More")
