"""The test cluster's ports (cache_bridge/testing/redis_cluster.py)."""

from __future__ import annotations

from pathlib import Path

from cache_bridge.testing.redis_cluster import free_cluster_port


def _ephemeral_start() -> int:
    path = Path("/proc/sys/net/ipv4/ip_local_port_range")
    return int(path.read_text().split()[0]) if path.exists() else 32768


def test_a_cluster_node_and_its_bus_port_lie_below_the_ephemeral_range() -> None:
    """An outgoing connection may take any port of the ephemeral range between the check and
    the node's start; a node whose bus port (+10000) is taken exits, failing every cluster
    test of the session (seen on a loaded machine: 286 errors from one taken bus port)."""
    start = _ephemeral_start()
    for _ in range(200):
        port = free_cluster_port()
        assert port > 1024, port
        assert port + 10000 < start, port
