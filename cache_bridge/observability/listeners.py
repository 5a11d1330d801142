"""Listeners that keep what the event stream tells in the process: counters for
``cache_stats`` commands, health pages and tests."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

from cache_bridge.observability.events import (
    BreakerEvent,
    Event,
    NearCacheEvent,
    OperationEvent,
    RateLimitEvent,
    StampedeEvent,
    Subscribed,
)

__all__ = ["Counters"]


class Counters(Subscribed):
    """Counts the events of this process (low-cardinality labels only: never keys).

    Use as a context manager (listens inside the block) or call :meth:`start` and
    :meth:`stop`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: ``(operation, outcome)`` -> calls.
        self.operations: Counter[tuple[str, str]] = Counter()
        #: ``(operation, "hit" | "miss")`` -> successful reads.
        self.reads: Counter[tuple[str, str]] = Counter()
        #: ``(server, state)`` -> breaker transitions into ``state``.
        self.breaker: Counter[tuple[str, str]] = Counter()
        #: ``(limit, "allowed" | "refused")`` -> rate-limit decisions.
        self.ratelimit: Counter[tuple[str, str]] = Counter()
        #: Get-or-compute outcome (``fresh``, ``stale``, ``computed``...) -> calls.
        self.stampede: Counter[str] = Counter()
        #: Near-cache event kind (``hit``, ``invalidation``...) -> its counts.
        self.near: Counter[str] = Counter()
        #: Total seconds spent in operations, by operation.
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, OperationEvent):  # the frequent one first, without match
                op, hit = event.operation, event.hit
                self.operations[op, event.outcome] += 1
                self.seconds[op] += event.duration
                if hit is not None:
                    self.reads[op, "hit" if hit else "miss"] += 1
                return
            match event:
                case BreakerEvent(state=state, server=server):
                    self.breaker[server, state] += 1
                case RateLimitEvent(limit=limit, allowed=allowed):
                    self.ratelimit[limit, "allowed" if allowed else "refused"] += 1
                case StampedeEvent(outcome=outcome):
                    self.stampede[outcome] += 1
                case NearCacheEvent(kind=kind, count=count):
                    self.near[kind] += count

    def hit_ratio(self) -> float | None:
        """Hits over successful reads so far (``None`` before the first read)."""
        hits = sum(n for (_, kind), n in self.reads.items() if kind == "hit")
        total = sum(self.reads.values())
        return hits / total if total else None

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain JSON-ready data."""
        with self._lock:
            return {
                "operations": {
                    f"{op} {outcome}": n for (op, outcome), n in self.operations.items()
                },
                "reads": {f"{op} {kind}": n for (op, kind), n in self.reads.items()},
                "breaker": {f"{server} {state}": n for (server, state), n in self.breaker.items()},
                "ratelimit": {f"{lim} {kind}": n for (lim, kind), n in self.ratelimit.items()},
                "stampede": dict(self.stampede),
                "near_cache": dict(self.near),
            }
