"""Raw access to every primary of a test cluster, for tests that write foreign keys below
the cluster adapter and check them afterwards.

A plain module (not a conftest): tests import what they need.
"""

from __future__ import annotations

import redis
import redis.cluster

from cache_bridge.testing.redis_cluster import LocalCluster

__all__ = ["ClusterStore"]


class ClusterStore:
    """Raw access to every primary of the test cluster."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.clients = [cluster.client(s) for s in cluster.current_primaries()]
        port = cluster.primaries[0].port
        self.router = redis.cluster.RedisCluster(host="127.0.0.1", port=port)

    def port_of(self, key: str) -> int:
        node = self.router.get_node_from_key(key)  # type: ignore[no-untyped-call]
        assert node is not None
        return int(node.port)

    def reset(self, entries: dict[str, str]) -> None:
        for client in self.clients:
            client.flushdb()
        if entries:
            with self.router.pipeline() as pipe:  # type: ignore[no-untyped-call]
                for key, value in entries.items():
                    pipe.set(key, value)
                pipe.execute()

    def values(self, keys: list[str]) -> list[str | None]:
        with self.router.pipeline() as pipe:  # type: ignore[no-untyped-call]
            for key in keys:
                pipe.get(key)
            found = pipe.execute()
        return [v.decode() if isinstance(v, bytes) else v for v in found]

    def all_keys(self) -> set[str]:
        return {k.decode() for c in self.clients for k in c.scan_iter(count=1000)}

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.router.close()
