"""Which failures mean that a Redis Cluster cannot serve a request now."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from redis import exceptions as rx

from cache_bridge.errors import CacheConnectionError

__all__ = ["as_unavailable", "unavailable", "unavailable_error"]


# A cluster that cannot serve a slot right now (no reachable node, a slot without a primary
# during a failover, a resharding in flight) is unavailable, as an unreachable server is:
# callers and the circuit breaker see a connection failure, not a refused command (ClusterError
# covers CLUSTERDOWN and redirections that never settle). Other
# RedisClusterExceptions (a command redis-py cannot route, ...) are the caller's mistakes.
_UNAVAILABLE = (rx.ClusterError, rx.TryAgainError, rx.SlotNotCoveredError)
# What redis-py says, with a plain RedisClusterException, when it cannot read a slot map.
_NO_SLOT_MAP = (
    "Redis Cluster cannot be connected",
    "All slots are not covered",
    "startup_nodes could not agree",
)


def unavailable(exc: Exception) -> bool:
    """Whether ``exc`` means the cluster cannot serve the request now (rather than a
    command that redis-py refuses whatever the cluster's state)."""
    if isinstance(exc, _UNAVAILABLE):
        return True
    if not isinstance(exc, rx.RedisClusterException):
        return False
    cause = exc.__cause__
    if isinstance(cause, rx.ConnectionError | rx.TimeoutError | OSError):
        return True
    return str(exc).startswith(_NO_SLOT_MAP)


def unavailable_error(exc: Exception) -> CacheConnectionError:
    return CacheConnectionError(
        f"the Redis Cluster cannot serve the request now ({exc})", operation="", cause=exc
    )


@contextlib.contextmanager
def as_unavailable() -> Iterator[None]:
    """A context in which what :func:`unavailable` recognises is raised as
    :func:`unavailable_error`."""
    try:
        yield
    except Exception as exc:
        if unavailable(exc):
            raise unavailable_error(exc) from exc
        raise
