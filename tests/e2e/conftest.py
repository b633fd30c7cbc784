"""The e2e suites' shared server: one `zebros serve` (embedded mode) for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.serving import served


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    yield from served()
