"""Start and stop a throw-away Redis Cluster on loopback: primaries (and optionally one replica
each) from plain redis-server processes, slots assigned and nodes introduced from Python.

Nothing is persisted (each node's ``nodes.conf`` lives in its own temporary directory, removed
by :meth:`LocalCluster.cleanup`), every wait is bounded, and :meth:`LocalCluster.cleanup`
stops every process even when start-up failed half-way.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cache_bridge.testing.redis_server import RedisServer, cleanup_all

if TYPE_CHECKING:
    import redis

__all__ = ["LocalCluster", "free_cluster_port"]

SLOTS = 16384
#: A cluster node also listens on its port + 10000 (the cluster bus).
_BUS_OFFSET = 10000
_FIRST_CLUSTER_PORT = 10000


def _ephemeral_start() -> int:
    """The first port the kernel hands to outgoing connections (32768 on Linux by default)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
            return int(ports.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port(attempts: int = 200) -> int:
    """A loopback port where nothing listens, whose cluster bus port (+10000) is free too.

    Both lie below the kernel's ephemeral range: a port in that range can be taken by any
    outgoing connection (the suite opens thousands) between this check and the node's start,
    and a node whose bus port is taken exits at once."""
    last = max(_FIRST_CLUSTER_PORT, _ephemeral_start() - _BUS_OFFSET - 1)
    for _ in range(attempts):
        port = random.randint(_FIRST_CLUSTER_PORT, last)
        if _bindable(port) and _bindable(port + _BUS_OFFSET):
            return port
    raise RuntimeError("found no free port pair for a cluster node")


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    import redis  # only when used: the core imports without redis-py

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass  # a node still starting or electing: ask again
        time.sleep(0.05)
    raise RuntimeError(f"the test cluster did not {what} within {timeout}s")


class LocalCluster:
    """``primaries`` primaries owning equal slot ranges, each with ``replicas_per_primary``
    replicas. ``node_timeout_ms`` is ``cluster-node-timeout``: how long a silent primary
    goes before its replica takes over."""

    def __init__(
        self,
        primaries: int = 3,
        replicas_per_primary: int = 0,
        node_timeout_ms: int = 1000,
        binary: str | None = None,
    ) -> None:
        if primaries < 1 or replicas_per_primary < 0:
            raise ValueError("a cluster needs at least one primary")
        self.node_timeout_ms = node_timeout_ms
        args = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(node_timeout_ms),
            # Let any replica take over however long its link was down: tests kill primaries.
            "--cluster-replica-validity-factor", "0",
            "--repl-diskless-sync-delay", "0",
        ]  # fmt: skip
        self.primaries = [RedisServer(binary, free_cluster_port(), args) for _ in range(primaries)]
        self.replicas = [
            RedisServer(binary, free_cluster_port(), args)
            for _ in range(primaries * replicas_per_primary)
        ]
        self._replicas_per_primary = replicas_per_primary

    @property
    def servers(self) -> list[RedisServer]:
        return [*self.primaries, *self.replicas]

    @property
    def url(self) -> str:
        """A ``redis+cluster://`` URL naming every primary as a start-up node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.primaries)

    def client(self, server: RedisServer) -> redis.Redis:
        """A plain client on one node (for administration and inspection)."""
        import redis

        return redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)

    def _admin(self, server: RedisServer, *args: Any) -> Any:
        with self.client(server) as client:
            return client.execute_command(*args)

    def start(self, wait: float = 20.0) -> None:
        """Start every node, assign the slots, introduce the nodes, attach the replicas and
        wait until every node reports ``cluster_state:ok`` and every replica is in sync."""
        try:
            self._start(wait)
        except BaseException:
            self.cleanup()
            raise

    def _start(self, wait: float) -> None:
        for server in self.servers:
            server.start()
        share = SLOTS // len(self.primaries)
        for index, server in enumerate(self.primaries):
            first = index * share
            last = SLOTS - 1 if index == len(self.primaries) - 1 else first + share - 1
            # ADDSLOTS (rather than 7.0's ADDSLOTSRANGE) works on every server version.
            self._admin(server, "CLUSTER", "ADDSLOTS", *range(first, last + 1))
        for server in self.servers[1:]:
            self._admin(self.primaries[0], "CLUSTER", "MEET", "127.0.0.1", server.port)
        count = len(self.servers)
        _wait(
            "introduce its nodes", lambda: all(self._known(s) == count for s in self.servers), wait
        )
        for index, replica in enumerate(self.replicas):
            primary = self.primaries[index // self._replicas_per_primary]
            node_id = self._admin(primary, "CLUSTER", "MYID")
            self._admin(replica, "CLUSTER", "REPLICATE", node_id)
        self.wait_until_healthy(wait)
        if self.replicas:
            _wait("sync its replicas", lambda: all(map(self._in_sync, self.replicas)), wait)

    def _known(self, server: RedisServer) -> int:
        nodes = self._admin(server, "CLUSTER", "NODES")
        text = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
        return sum(1 for line in text.splitlines() if line and "handshake" not in line)

    def _healthy(self, server: RedisServer) -> bool:
        info = self._admin(server, "CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text

    def _in_sync(self, replica: RedisServer) -> bool:
        with self.client(replica) as client:
            info = client.info("replication")
        return bool(info.get("role") == "slave" and info.get("master_link_status") == "up")

    def wait_until_healthy(self, wait: float = 20.0) -> None:
        """Wait until every running node reports ``cluster_state:ok``."""
        _wait(
            "report cluster_state:ok",
            lambda: all(self._healthy(s) for s in self.servers if s.running),
            wait,
        )

    def current_primaries(self) -> list[RedisServer]:
        """The running servers that are primaries now (failovers swap roles)."""
        primaries = []
        for server in self.servers:
            if server.running:
                with self.client(server) as client:
                    if client.info("replication").get("role") == "master":
                        primaries.append(server)
        return primaries

    def primary_of_slot(self, slot: int) -> RedisServer:
        """The running server that serves ``slot`` as a primary, as the running nodes see it."""
        by_port = {s.port: s for s in self.servers if s.running}
        for server in by_port.values():
            with self.client(server) as client:
                ranges = client.execute_command("CLUSTER", "SLOTS")
            for start, end, primary, *_ in ranges:
                if int(start) <= slot <= int(end) and int(primary[1]) in by_port:
                    return by_port[int(primary[1])]
        raise RuntimeError(f"no running node serves slot {slot}")

    def move_slot(self, slot: int, to: RedisServer, wait: float = 10.0) -> None:
        """Reshard one slot, with its keys, to the primary ``to``, as ``redis-cli --cluster
        reshard`` would, and wait until every running node agrees."""
        source = self.start_migration(slot, to)
        self.finish_migration(slot, source, to, wait)

    def start_migration(self, slot: int, to: RedisServer) -> RedisServer:
        """Mark ``slot`` IMPORTING on ``to`` and MIGRATING on its primary, which is returned:
        from now on that primary answers ASK for keys of the slot it no longer holds, and
        TRYAGAIN for multi-key commands over keys on both sides."""
        source = self.primary_of_slot(slot)
        source_id = self._admin(source, "CLUSTER", "MYID")
        target_id = self._admin(to, "CLUSTER", "MYID")
        self._admin(to, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        self._admin(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        return source

    def migrate_keys(self, slot: int, source: RedisServer, to: RedisServer, count: int) -> int:
        """MIGRATE up to ``count`` keys of ``slot`` from ``source`` to ``to``; how many."""
        keys = self._admin(source, "CLUSTER", "GETKEYSINSLOT", slot, count)
        if keys:
            self._admin(source, "MIGRATE", "127.0.0.1", to.port, "", 0, 5000, "KEYS", *keys)
        return len(keys)

    def finish_migration(
        self, slot: int, source: RedisServer, to: RedisServer, wait: float = 10.0
    ) -> None:
        """Migrate the slot's remaining keys, give the slot to ``to`` on every primary (``to``
        first, as redis-cli does) and wait until every running node agrees."""
        for _ in range(10_000):  # bounded: 100 keys a step
            if self.migrate_keys(slot, source, to, 100) == 0:
                break
        target_id = self._admin(to, "CLUSTER", "MYID")
        others = [s for s in self.current_primaries() if s not in (source, to)]
        for server in [to, source, *others]:
            self._admin(server, "CLUSTER", "SETSLOT", slot, "NODE", target_id)

        _wait(f"move slot {slot}", lambda: self._everyone_sees(slot, to), wait)

    def _everyone_sees(self, slot: int, owner: RedisServer) -> bool:
        """Whether every running node says ``owner`` serves ``slot``."""
        for server in self.servers:
            if not server.running:
                continue
            with self.client(server) as client:
                ranges = client.execute_command("CLUSTER", "SLOTS")
            if not any(
                int(start) <= slot <= int(end) and int(primary[1]) == owner.port
                for start, end, primary, *_ in ranges
            ):
                return False
        return True

    def fail_over(self, primary: RedisServer, wait: float = 20.0) -> RedisServer:
        """Promote a replica of ``primary`` with a manual ``CLUSTER FAILOVER`` (the replica in
        sync first, so nothing written before is lost; nothing stopped) and wait until every
        running node sees the new primary and every replica is in sync; return it."""
        found = self._admin(primary, "CLUSTER", "MYID")
        primary_id = found.decode() if isinstance(found, bytes) else str(found)
        replicas = [s for s in self.servers if s.running and self._replica_of(s) == primary_id]
        if not replicas:
            raise RuntimeError(f"the primary on port {primary.port} has no running replica")
        replica = replicas[0]
        # A manual failover waits for the replica to catch up: it must be linked first.
        _wait("sync the replica to promote", lambda: self._in_sync(replica), wait)

        def promoted() -> bool:
            if self._replica_of(replica) is not None:
                return False
            slot = self._first_slot(replica)
            return slot is not None and self._everyone_sees(slot, replica)

        # A manual failover stalls if the primaries do not vote (they vote once
        # per 2 x node timeout for one shard): then the replica, in sync, takes over without
        # a vote.
        deadline = time.monotonic() + wait
        command: tuple[str, ...] = ("CLUSTER", "FAILOVER")
        while True:
            self._admin(replica, *command)
            try:
                _wait(
                    "promote a replica", promoted, max(0.1, min(3.0, deadline - time.monotonic()))
                )
                break
            except RuntimeError:
                if time.monotonic() >= deadline:
                    raise
            command = ("CLUSTER", "FAILOVER", "TAKEOVER")
        self.wait_until_healthy(wait)
        self.wait_until_synced(wait)
        return replica

    def wait_until_synced(self, wait: float = 20.0) -> None:
        """Wait until every running replica (whatever its role was at start) is in sync."""

        def synced() -> bool:
            for server in self.servers:
                if not server.running:
                    continue
                with self.client(server) as client:
                    info = client.info("replication")
                if info.get("role") == "slave" and info.get("master_link_status") != "up":
                    return False
            return True

        _wait("sync its replicas", synced, wait)

    def _replica_of(self, server: RedisServer) -> str | None:
        """The node ID ``server`` replicates, or ``None`` for a primary."""
        nodes = self._admin(server, "CLUSTER", "NODES")
        text = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
        for line in text.splitlines():
            fields = line.split()
            if len(fields) > 3 and "myself" in fields[2]:
                return None if fields[3] == "-" else fields[3]
        return None

    def _first_slot(self, server: RedisServer) -> int | None:
        with self.client(server) as client:
            ranges = client.execute_command("CLUSTER", "SLOTS")
        owned = [int(start) for start, _, owner, *_ in ranges if int(owner[1]) == server.port]
        return min(owned) if owned else None

    def flush(self) -> None:
        """Empty every running primary."""
        for server in self.servers:
            if server.running:
                with self.client(server) as client:
                    if client.info("replication").get("role") == "master":
                        client.flushdb()

    def cleanup(self) -> None:
        """Stop every node and remove its directory (all of them, even if one fails)."""
        cleanup_all(self.servers)

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
