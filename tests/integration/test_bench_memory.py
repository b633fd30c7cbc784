"""The memory benchmark's smoke run: two tiny tenants exported by a worker process of
its own, on the suite's servers; its table printed (the full run is in the README)."""

from __future__ import annotations

import pytest

from bench import memory
from settings import Settings


async def test_the_memory_bench_smoke_run_prints_its_table(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    aws = settings.aws
    assert aws.dynamodb_endpoint_url is not None
    assert aws.s3_endpoint_url is not None
    where = memory.Endpoints(aws.dynamodb_endpoint_url, aws.s3_endpoint_url, settings.redis.url)
    await memory.main(memory.SMOKE, where)
    out = capsys.readouterr().out
    assert "peak RSS MB" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == list(memory.SMOKE)  # every record exported
    assert "ratio 500/50 records: 10.0x" in out
