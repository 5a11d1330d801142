"""Test support shipped with cache_bridge: a redis-server launcher, a harness that drives
either face through one blocking interface, and the contract suite every adapter must pass.

Third-party adapter authors: subclass :class:`~cache_bridge.testing.contract.CacheContract`
in a pytest module and give it a ``cache`` fixture returning a :class:`Harness`.
"""

from __future__ import annotations

from cache_bridge.testing.harness import Harness
from cache_bridge.testing.redis_server import RedisServer, find_redis_server

__all__ = ["Harness", "RedisServer", "find_redis_server"]
