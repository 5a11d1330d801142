"""Observing cache_bridge: one stream of events (operations, circuit breakers, rate-limit
decisions, stampede outcomes, near caches) and the listeners that turn it into counters and
metrics."""

from cache_bridge.observability.events import (
    BreakerEvent,
    Event,
    Listener,
    NearCacheEvent,
    OperationEvent,
    RateLimitEvent,
    StampedeEvent,
    add_listener,
    emit,
    remove_listener,
)
from cache_bridge.observability.listeners import Counters

__all__ = [
    "BreakerEvent",
    "Counters",
    "Event",
    "Listener",
    "NearCacheEvent",
    "OperationEvent",
    "RateLimitEvent",
    "StampedeEvent",
    "add_listener",
    "emit",
    "remove_listener",
]
