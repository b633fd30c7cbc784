"""Real redis-server processes the cache tests may break on purpose.

The shared Redis the README names (``ZEBROS_TEST_REDIS_URL``) must never be paused,
killed or reconfigured, since other tests and other runs use it. Here each test gets
processes of its own: a standalone server (``RedisServer``) that can be stopped,
restarted on the same port, or frozen with SIGSTOP to make clients time out, and a
local three-node Redis Cluster (``RedisClusterServers``) for the cluster code paths.
Nothing persists: no RDB, no AOF, a temp dir per process, removed on ``stop()``.
The module holds no fixtures; conftest wires them in.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"
START_SECONDS = 10.0
CLUSTER_SECONDS = 20.0
STOP_SECONDS = 5.0
CLUSTER_BUS_OFFSET = 10000  # Redis Cluster listens on port + 10000 for its node bus
INSTALL = (
    "redis-server is needed for the cache tests: apt-get install redis-server "
    "(or brew install redis), or see README 'Redis'"
)
CLUSTER_ARGS = (
    *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
    *("--cluster-node-timeout", "2000"),
)


def _binary(name: str) -> str:
    """The path of a Redis tool, or RuntimeError saying what to install (nothing skips)."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(INSTALL.replace("redis-server is", f"{name} is", 1))
    return path


def free_port(cluster: bool = False) -> int:
    """A port nobody listens on; for a cluster node, its bus port (+10000) is free too."""
    while True:
        with socket.socket() as s, socket.socket() as bus:
            s.bind((HOST, 0))
            port: int = s.getsockname()[1]
            try:
                if cluster:
                    bus.bind((HOST, port + CLUSTER_BUS_OFFSET))  # OverflowError above 65535
            except (OSError, OverflowError):
                continue
            return port


def _client(port: int) -> redis.Redis:
    """A fresh client, 1 s timeouts and no retries: a hung server must not hang the caller.

    (redis-py's default retries three times with backoff: 10+ s for one probe.)
    """
    once = Retry(NoBackoff(), 0)
    return redis.Redis(host=HOST, port=port, socket_timeout=1, socket_connect_timeout=1, retry=once)


def pings(port: int) -> bool:
    """Whether a Redis on ``port`` answers PING now."""
    with _client(port) as client:
        try:
            return client.ping() is True
        except (redis.RedisError, OSError):
            return False


def cluster_ok(port: int) -> bool:
    """Whether the node on ``port`` sees every slot served (else clients get CLUSTERDOWN)."""
    with _client(port) as client:
        try:
            info = client.cluster("INFO")
        except (redis.RedisError, OSError):
            return False
    return isinstance(info, dict) and info.get("cluster_state") == "ok"


def _wait_for(check: Callable[[], bool], seconds: float, fail: Callable[[], str]) -> None:
    """Poll ``check`` until true; after ``seconds`` raise RuntimeError with ``fail()``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(fail())


class RedisServer:
    """One standalone redis-server on 127.0.0.1: no persistence, a temp dir of its own."""

    def __init__(self, extra_args: Sequence[str] = ()) -> None:
        self._extra = list(extra_args)
        self._port = 0
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self._port}/0"

    @property
    def dir(self) -> Path:
        """Its working dir (log, nodes.conf); only while started."""
        assert self._dir is not None, "RedisServer is not started"
        return self._dir

    def start(self, port: int | None = None) -> None:
        """Spawn on ``port`` (default: a free one) and return once PING answers."""
        binary = _binary("redis-server")
        if self._process is not None:
            raise RuntimeError(f"redis-server already runs on port {self._port}")
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="zebros-redis-"))
        self._port = port or self._port or free_port("--cluster-enabled" in self._extra)
        self._process = subprocess.Popen(
            [binary, *self._arguments()],
            cwd=self._dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(self._ready, START_SECONDS, self._failure)
        except BaseException:
            self.stop()
            raise

    def _arguments(self) -> list[str]:
        return [
            *("--bind", HOST, "--port", str(self._port)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            *("--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")),
            *self._extra,
        ]

    def _ready(self) -> bool:
        """PING answers; an early exit (bad flag, port taken) fails at once, not at 10 s."""
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(self._failure("exited at start"))
        return pings(self._port)

    def _failure(self, what: str = f"did not answer PING in {START_SECONDS:.0f} s") -> str:
        return f"redis-server on port {self._port} {what}; log tail:\n{self.log_tail()}"

    def log_tail(self, chars: int = 2000) -> str:
        """The end of its log file, for error messages."""
        if self._dir is None or not (self._dir / "redis.log").exists():
            return "(no log)"
        return (self._dir / "redis.log").read_text(errors="replace")[-chars:]

    def _terminate(self) -> None:
        """SIGTERM (after SIGCONT, so a paused server can act on it); SIGKILL after 5 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        """End the process and remove its dir; safe to call twice."""
        self._terminate()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._port = 0  # a later start() picks a fresh free port

    def restart(self) -> None:
        """Stop, then start again on the SAME port: clients see a dropped connection."""
        self._terminate()
        self.start(self._port)

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers, so clients time out."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: it answers again, queued commands included."""
        self._signal(signal.SIGCONT)

    def _signal(self, number: signal.Signals) -> None:
        assert self._process is not None, "RedisServer is not started"
        os.kill(self._process.pid, number)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class RedisClusterServers:
    """A local Redis Cluster of three masters, no replicas: ``nodes[i]`` can be broken alone."""

    def __init__(self, size: int = 3) -> None:
        self.nodes = [RedisServer(CLUSTER_ARGS) for _ in range(size)]

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(HOST, node.port) for node in self.nodes]

    @property
    def url(self) -> str:
        """What ``redis.asyncio.cluster.RedisCluster.from_url`` takes: any node finds the rest."""
        return self.nodes[0].url

    def start(self) -> None:
        """Start the nodes, assign the slots with redis-cli, wait for cluster_state:ok."""
        cli = _binary("redis-cli")
        try:
            for node in self.nodes:
                node.start()
            self._create(cli)
            self.wait_ok()
        except BaseException:
            self.stop()
            raise

    def _create(self, cli: str) -> None:
        """Spread the slots over the masters; no replicas, so no failover to wait for."""
        nodes = [f"{host}:{port}" for host, port in self.startup_nodes]
        command = [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CLUSTER_SECONDS, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{done.stdout}{done.stderr}")

    def wait_ok(self, seconds: float = CLUSTER_SECONDS) -> None:
        """Until every node says cluster_state:ok; also after ``nodes[i].restart()``.

        A restarted node keeps its dir, so nodes.conf brings it back as the same member
        (its keys gone: nothing persists), but the cluster is ok only about 2 s after PING.
        """
        _wait_for(lambda: all(cluster_ok(n.port) for n in self.nodes), seconds, self._failure)

    def _failure(self) -> str:
        tails = "\n".join(f"--- {node.port}\n{node.log_tail(600)}" for node in self.nodes)
        return f"Redis Cluster not cluster_state:ok in time; logs:\n{tails}"

    def stop(self) -> None:
        """Stop every node and remove their dirs; safe to call twice."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
