"""Stopping the servers the suite and the benchmarks start: politely, then for good."""

from __future__ import annotations

import subprocess
from typing import Any


def stop(process: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    """SIGTERM, up to ``timeout`` seconds to exit, then SIGKILL (and reap it)."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
