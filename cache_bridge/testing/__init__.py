"""Test support shipped with cache_bridge: a redis-server launcher, a harness that drives
either face through one blocking interface, and the contract suite every adapter must pass.

Fault injection: :class:`FaultProxy` (reset, half-open, latency between a client and a
server, with traffic counters), :class:`FaultyRedisServer` (kill, freeze, pause, keep busy)
and :mod:`cache_bridge.testing.tls` (a throw-away CA and a TLS-only redis-server).

Third-party adapter authors: subclass :class:`~cache_bridge.testing.contract.CacheContract`
in a pytest module and give it a ``cache`` fixture returning a :class:`Harness`.
"""

from __future__ import annotations

from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.harness import Harness, Harnesses
from cache_bridge.testing.proxy import FaultProxy
from cache_bridge.testing.redis_server import RedisServer, find_redis_server

__all__ = [
    "FaultProxy",
    "FaultyRedisServer",
    "Harness",
    "Harnesses",
    "RedisServer",
    "find_redis_server",
]
