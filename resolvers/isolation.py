"""Running untrusted CPU work off the event loop, with a hard time and memory limit.

A single built-in call (``'%0500000000d' % 1``) cannot be interrupted from
Python, nor by a thread: it holds the GIL. So the work runs in a child made by
``fork`` for that one call: the child sets its own address-space limit (what it
already maps plus ``memory`` bytes), does the work, writes the bytes it made to
a pipe and ``_exit``s without running any of the parent's cleanup. The loop
only reads the pipe; past ``seconds`` the child is killed. Whatever happens in
the child, the loop is held only for the ``fork`` itself (a few ms).

The child is a copy of the server: it must touch nothing it shares with the
parent (sockets, the loop), so ``work`` is a pure function of its arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import warnings
import weakref
from collections.abc import Callable

CHUNK = 1 << 16
CHILDREN = 4  # children at once, per process: each may take ``memory`` and a core
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


class Overrun(Exception):
    """The child ran past its time, or ended without an answer (killed, out of memory)."""


async def isolated(work: Callable[[], bytes], seconds: float, memory: int) -> bytes:
    """What ``work()`` returned in a child, or Overrun. At most ``CHILDREN`` children
    at once: more wait their turn (the time limit counts from the fork)."""
    async with _gate():
        return await _forked(work, seconds, memory)


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()  # a semaphore belongs to one loop (tests run many)
    return _gates.setdefault(loop, asyncio.Semaphore(CHILDREN))


async def _forked(work: Callable[[], bytes], seconds: float, memory: int) -> bytes:
    read, write = os.pipe()
    with warnings.catch_warnings():
        # 3.12+ warns of fork with threads: the child runs only ``work`` and _exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover (the child: coverage cannot see it)
        _child(read, write, work, memory)
    os.close(write)
    try:
        return await asyncio.wait_for(_drain(read), seconds)
    except TimeoutError as exc:
        raise Overrun(f"took longer than {seconds * 1000:.0f} ms") from exc
    finally:
        os.close(read)
        _reap(pid)


def _child(read: int, write: int, work: Callable[[], bytes], memory: int) -> None:
    code = 1
    try:
        os.close(read)
        _limit(memory)
        out = memoryview(work())
        while out:
            out = out[os.write(write, out[:CHUNK]) :]
        code = 0
    finally:
        os._exit(code)  # no atexit, no finalizer of the parent's objects


def _limit(memory: int) -> None:
    """Address space: what the child maps now (the parent's copy) plus ``memory``.
    Without /proc (macOS, where RLIMIT_AS is not enforced anyway) only time is limited."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = mapped + memory
    resource.setrlimit(resource.RLIMIT_AS, (soft if hard < 0 else min(soft, hard), hard))


async def _drain(fd: int) -> bytes:
    """Every byte the child writes, until it closes the pipe (by exiting)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    parts: list[bytes] = []

    def readable() -> None:
        part = os.read(fd, CHUNK)
        if part:
            parts.append(part)
        elif not done.done():
            done.set_result(b"".join(parts))

    loop.add_reader(fd, readable)
    try:
        return await done
    finally:
        loop.remove_reader(fd)


def _reap(pid: int) -> None:
    """Kill (a no-op once it has exited) and collect the child: no zombie is left."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, -signal.SIGKILL):
        raise Overrun("ended without an answer")
