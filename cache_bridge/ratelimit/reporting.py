"""The rate limiter's events: one :class:`~cache_bridge.observability.RateLimitEvent` per limit
decided for a request (given to the listeners of :mod:`cache_bridge.observability`).

Nothing is built while no listener listens: the callers' only cost is reading one module
attribute (``events.listeners``, an empty tuple).
"""

from __future__ import annotations

from collections.abc import Sequence

from cache_bridge.observability import events
from cache_bridge.ratelimit.decision import Decision

__all__ = ["report"]


def report(decisions: Sequence[Decision], modes: Sequence[str] | None = None) -> None:
    """Emit the event of each decision (``modes``: each check's mode; an after-response count,
    ``"force"``, is not a decision and emits nothing). The event's ``failed`` is ``"open"`` or
    ``"closed"`` when the limit could not be decided (the cache failed, or a dynamic limit's
    rate callable) and the request was let through or refused for it; ``"memory"`` when the
    cache failed and the in-memory fallback decided."""
    if not events.listeners:
        return
    for position, d in enumerate(decisions):
        if modes is not None and modes[position] == "force":
            continue
        if d.fallback is not None:  # the cache failed; the in-memory fallback decided
            events.emit(events.RateLimitEvent(d.name, d.allowed, "memory"))
        elif d.error is None:
            events.emit(events.RateLimitEvent(d.name, d.allowed))
        else:
            events.emit(events.RateLimitEvent(d.name, d.allowed, "open" if d.allowed else "closed"))
