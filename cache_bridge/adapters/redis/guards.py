"""The guard (circuit breaker, probe, outage log) of a Redis-family adapter: one per server
configuration in a process, shared by both faces (see
:func:`cache_bridge.resilience.guard.shared_guard`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, cast

from cache_bridge.config import NetworkSettings, RedisSettings
from cache_bridge.faces import FaceProber, SyncCache
from cache_bridge.resilience.breaker import breaker_for
from cache_bridge.resilience.guard import Guard, shared_guard

__all__ = ["PROBE_OPTIONS", "probe_settings", "redis_guard"]

Settings = NetworkSettings

#: What the probe's own blocking face takes on top of the adapter's options: one connection,
#: one attempt, and no breaker of its own.
PROBE_OPTIONS: dict[str, Any] = {"breaker_threshold": 0, "max_connections": 1, "retries": 0}

_S = TypeVar("_S", bound=NetworkSettings)


def probe_settings(settings: _S) -> _S:
    """``settings`` with :data:`PROBE_OPTIONS` for every data node's connections."""
    node = dataclasses.replace(settings.connection, **PROBE_OPTIONS)
    if isinstance(settings, RedisSettings):
        return cast(_S, node)
    return cast(_S, dataclasses.replace(settings, node=node))


def redis_guard(
    owner: object, settings: Settings, probe_face: Callable[[], SyncCache]
) -> tuple[Guard, Callable[[], None]]:
    """``owner``'s guard, shared with every other live adapter of the same configuration, and
    what ``owner`` calls when it is closed. ``probe_face`` builds a blocking face of the same
    configuration with :func:`probe_settings`, used only to probe."""
    # The prefix does not change the server.
    server = settings.without_prefix()

    def make() -> Guard:
        return Guard(
            server.masked_url(),
            breaker_for(settings.connection),
            make_prober=lambda: FaceProber(probe_face()),
        )

    return shared_guard(owner, (type(server).__name__, server), make)
