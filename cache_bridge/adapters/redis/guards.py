"""The guard (circuit breaker, probe, outage log) of a Redis-family adapter: one per server
configuration in a process, shared by both faces (see :func:`cache_bridge.guard.shared_guard`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from cache_bridge import config
from cache_bridge.faces import FaceProber, SyncCache
from cache_bridge.guard import Guard, shared_guard
from cache_bridge.scaling_config import ClusterSettings, SentinelSettings

__all__ = ["PROBE_OPTIONS", "redis_guard"]

Settings = config.RedisSettings | ClusterSettings | SentinelSettings

#: What the probe's own blocking face takes on top of the adapter's options: one connection,
#: one attempt, and no breaker of its own.
PROBE_OPTIONS: dict[str, Any] = {"breaker_threshold": 0, "max_connections": 1, "retries": 0}


def _unprefixed(settings: Settings) -> Settings:
    """The configuration without its key prefix: the prefix does not change the server."""
    if isinstance(settings, config.RedisSettings):
        return dataclasses.replace(settings, key_prefix=None)
    return dataclasses.replace(settings, node=dataclasses.replace(settings.node, key_prefix=None))


def redis_guard(
    owner: object, settings: Settings, probe_face: Callable[[], SyncCache]
) -> tuple[Guard, Callable[[], None]]:
    """``owner``'s guard, shared with every other live adapter of the same configuration, and
    what ``owner`` calls when it is closed. ``probe_face`` builds a blocking face of the same
    configuration with :data:`PROBE_OPTIONS`, used only to probe."""
    server = _unprefixed(settings)

    def make() -> Guard:
        node = settings if isinstance(settings, config.RedisSettings) else settings.node
        return Guard(
            server.masked_url(),
            node.breaker(),
            make_prober=lambda: FaceProber(probe_face()),
        )

    return shared_guard(owner, (type(server).__name__, server), make)
