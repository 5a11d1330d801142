"""Start and stop a throw-away Redis Sentinel set-up on loopback: one primary, one replica and
three sentinels (quorum 2) with short failure detection, optionally with passwords on the data
nodes and on the sentinels.

Nothing is persisted (each process works in its own temporary directory, removed by
:meth:`LocalSentinel.cleanup`), every wait is bounded, and :meth:`LocalSentinel.cleanup` stops
every process even when start-up failed half-way.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cache_bridge.testing.redis_server import (
    RedisServer,
    ServerProcess,
    cleanup_all,
    find_redis_server,
    free_port,
)

if TYPE_CHECKING:
    import redis

__all__ = ["LocalSentinel", "SentinelProcess"]

SERVICE = "cache-bridge-primary"


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    import redis  # only when used: the core imports without redis-py

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass  # still starting: ask again
        time.sleep(0.05)
    raise RuntimeError(f"the test sentinel set-up did not {what} within {timeout}s")


class SentinelProcess(ServerProcess):
    """One ``redis-server <conf> --sentinel`` process on a free loopback port."""

    def __init__(self, binary: str, config_lines: list[str]) -> None:
        self.binary = binary
        self.port = free_port()
        self._lines = list(config_lines)
        # Made by start() (the sentinel rewrites its config there), removed by cleanup().
        self._dir: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="cache-bridge-sentinel-")
            lines = [f"port {self.port}", "bind 127.0.0.1", f'dir "{self._dir}"', *self._lines]
            (Path(self._dir) / "sentinel.conf").write_text("\n".join(lines) + "\n")
        self._process = subprocess.Popen(
            [self.binary, str(Path(self._dir) / "sentinel.conf"), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )


class LocalSentinel:
    """A primary, a replica and three sentinels watching them as :data:`SERVICE`.

    ``password`` protects the data nodes (``requirepass`` and ``masterauth``);
    ``sentinel_password`` protects the sentinels. A primary that stops answering is judged
    down after ``down_after_ms`` and its replica promoted.
    """

    def __init__(
        self,
        password: str | None = None,
        sentinel_password: str | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        binary: str | None = None,
    ) -> None:
        found = binary or find_redis_server()
        if found is None:
            raise RuntimeError("no redis-server found")
        self.password = password
        self.sentinel_password = sentinel_password
        auth = ["--requirepass", password, "--masterauth", password] if password else []
        fast = ["--repl-diskless-sync-delay", "0"]
        self.primary = RedisServer(found, extra_args=[*auth, *fast])
        self.replica = RedisServer(
            found, extra_args=[*auth, *fast, "--replicaof", "127.0.0.1", str(self.primary.port)]
        )
        lines = [
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2",
            f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
            f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}",
            f"sentinel parallel-syncs {SERVICE} 1",
        ]
        if password:
            lines.append(f"sentinel auth-pass {SERVICE} {password}")
        if sentinel_password:
            lines += [
                f"requirepass {sentinel_password}",
                f"sentinel sentinel-pass {sentinel_password}",
            ]
        self.sentinels = [SentinelProcess(found, lines) for _ in range(3)]

    def url(self, db: int = 0) -> str:
        """A ``redis+sentinel://`` URL naming the three sentinels, with the data nodes'
        password (the sentinels' one is the ``sentinel_password`` option)."""
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{auth}{hosts}/{SERVICE}/{db}"

    def client(self, server: RedisServer) -> redis.Redis:
        """A plain client on one data node."""
        import redis

        return redis.Redis(
            host="127.0.0.1", port=server.port, password=self.password, socket_timeout=5
        )

    def _sentinel_client(self, sentinel: SentinelProcess) -> redis.Redis:
        import redis

        return redis.Redis(
            host="127.0.0.1",
            port=sentinel.port,
            password=self.sentinel_password,
            socket_timeout=5,
            decode_responses=True,
        )

    def start(self, wait: float = 20.0) -> None:
        """Start everything and wait until the replica is in sync and every sentinel knows
        the replica and the two other sentinels (so a failover can be agreed)."""
        try:
            self.primary.start()
            self.replica.start()
            for sentinel in self.sentinels:
                sentinel.start()
            _wait("sync its replica", self._replica_in_sync, wait)
            _wait("introduce its sentinels", lambda: all(map(self._ready, self.sentinels)), wait)
        except BaseException:
            self.cleanup()
            raise

    def _replica_in_sync(self) -> bool:
        with self.client(self.replica) as client:
            return bool(client.info("replication").get("master_link_status") == "up")

    def _ready(self, sentinel: SentinelProcess) -> bool:
        with self._sentinel_client(sentinel) as client:
            state: dict[str, Any] = client.execute_command("SENTINEL", "MASTER", SERVICE)
        if isinstance(state, list):
            state = dict(zip(state[::2], state[1::2], strict=True))
        return int(state["num-slaves"]) >= 1 and int(state["num-other-sentinels"]) >= 2

    def primary_port(self) -> int:
        """The port of the primary that the first answering sentinel reports now."""
        import redis

        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            try:
                with self._sentinel_client(sentinel) as client:
                    _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
                return int(port)
            except redis.RedisError:
                continue
        raise RuntimeError("no sentinel answered")

    def flush(self) -> None:
        """Empty the current primary."""
        port = self.primary_port()
        server = self.primary if port == self.primary.port else self.replica
        with self.client(server) as client:
            client.flushdb()

    def cleanup(self) -> None:
        """Stop every process and remove its directory (all of them, even if one fails)."""
        cleanup_all([*self.sentinels, self.replica, self.primary])

    def __enter__(self) -> LocalSentinel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
