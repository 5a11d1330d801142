"""Readiness and liveness, as the health endpoints of both integrations report them.

Liveness never depends on the cache: cache_bridge fails open, so an app whose cache is down
is alive (only slower). Readiness pings a cache, waiting at most ``bound`` seconds, and
reports its circuit breaker.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any, Final

from returns.result import Failure, Success

from cache_bridge.protocol import SyncCacheProtocol

__all__ = ["DEFAULT_BOUND", "LIVE", "readiness"]

#: Seconds a readiness check waits for a cache's PING.
DEFAULT_BOUND: Final = 0.5

#: What a liveness check answers, always (with status 200).
LIVE: Final = {"status": "alive"}


def readiness(cache: SyncCacheProtocol, bound: float = DEFAULT_BOUND) -> dict[str, Any]:
    """Ping ``cache`` (at most ``bound`` seconds) and describe it as JSON-ready data:
    ``status`` is ``"ready"`` if it answered, else ``"unavailable"`` (with ``error``);
    ``breaker`` is its circuit breaker's state and counters (``None`` without one)."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(cache.ping()), daemon=True)
    thread.start()
    thread.join(bound)
    breaker = getattr(cache, "breaker", None)
    report: dict[str, Any] = {
        "status": "unavailable",
        "breaker": None if breaker is None else asdict(breaker.stats()),
    }
    match answers:
        case [Success(_)]:
            report["status"] = "ready"
        case [Failure(error)]:
            report["error"] = str(error)
        case _:
            report["error"] = f"no answer within {bound} s"
    return report
