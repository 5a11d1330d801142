"""Aggregating the event stream in the process, so that a metrics exporter does its work when
it is scraped or collected, not on every cache call: one dictionary update per operation,
however many exporters read the result (they share one :class:`Tally`)."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Final, Self, TypeAlias

from cache_bridge.observability.events import (
    BreakerEvent,
    Event,
    NearCacheEvent,
    OperationEvent,
    Origin,
    RateLimitEvent,
    StampedeEvent,
    Subscribed,
    add_listener,
    remove_listener,
    without_credentials,
)

__all__ = ["LATENCY_BUCKETS", "CallKey", "Counts", "Tally", "TallyView"]

#: Latency bucket upper bounds (seconds) for cache calls: from 100 µs to 2.5 s.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    *(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
    *(0.25, 0.5, 1.0, 2.5),
)

#: A server's label, without credentials (remembered: a near-cache hit may be frequent).
_server_label = lru_cache(maxsize=256)(without_credentials)

#: ``(operation, outcome, hit, origin)``: what one row of :attr:`Counts.calls` counts.
CallKey: TypeAlias = tuple[str, str, bool | None, Origin]


@dataclass
class Counts:
    """Added-up events: per :data:`CallKey`, a row ``[calls, seconds, n0, n1, ...]`` where
    ``ni`` counts the calls that took at most ``LATENCY_BUCKETS[i]`` and more than the
    bound before (the last: more than every bound); breaker transitions and states;
    rate-limit decisions; stampede outcomes and their computations' seconds; near-cache
    events."""

    calls: dict[CallKey, list[float]] = field(default_factory=dict)
    #: ``(server, state)`` -> transitions into ``state``.
    transitions: Counter[tuple[str, ...]] = field(default_factory=Counter)
    #: ``server`` -> whether its breaker is open (the last transition heard).
    open: dict[str, bool] = field(default_factory=dict)
    #: ``(limit, "allowed" | "refused", failed or "")`` -> decisions.
    decisions: Counter[tuple[str, ...]] = field(default_factory=Counter)
    #: ``(outcome, server, prefix)`` -> get-or-compute calls that ended so.
    stampede: Counter[tuple[str, ...]] = field(default_factory=Counter)
    #: ``(outcome, server, prefix)`` -> seconds their computations took (``float``).
    compute_seconds: defaultdict[tuple[str, ...], float] = field(
        default_factory=lambda: defaultdict(float)
    )

    #: ``(kind, server)`` -> near-cache hits, keys invalidated, entries evicted, resets.
    near: Counter[tuple[str, ...]] = field(default_factory=Counter)

    def copy(self) -> Counts:
        return Counts(
            {key: list(row) for key, row in self.calls.items()},
            Counter(self.transitions),
            dict(self.open),
            Counter(self.decisions),
            Counter(self.stampede),
            defaultdict(float, self.compute_seconds),
            Counter(self.near),
        )

    def plus(self, other: Counts, sign: int = 1) -> Counts:
        """These counts with ``other``'s added (``sign=-1``: taken away); states are
        ``other``'s where it has them."""
        summed = self.copy()
        for key, row in other.calls.items():
            mine = summed.calls.setdefault(key, [0.0] * len(row))
            for i, value in enumerate(row):
                mine[i] += sign * value
        for labels, n in other.transitions.items():
            summed.transitions[labels] += sign * n
        for ours, theirs in self._counters(summed, other):
            for labels, n in theirs.items():
                ours[labels] += sign * n
        if sign > 0:
            summed.open.update(other.open)
        return summed

    @staticmethod
    def _counters(one: Counts, other: Counts) -> list[tuple[Any, Any]]:
        """The plain counters of both, paired (added up alike)."""
        return [
            (one.decisions, other.decisions),
            (one.stampede, other.stampede),
            (one.compute_seconds, other.compute_seconds),
            (one.near, other.near),
        ]

    def without_zeros(self) -> None:
        """Drop the counters' labels that counted nothing."""
        for name in ("transitions", "decisions", "stampede", "near"):
            counted = getattr(self, name)
            for labels in [labels for labels, n in counted.items() if not n]:
                del counted[labels]
        # seconds are floats (a difference need not be exactly 0): kept where calls were
        for labels in [labels for labels in self.compute_seconds if labels not in self.stampede]:
            del self.compute_seconds[labels]


class Tally(Subscribed):
    """A listener that adds up the events it hears (see :class:`Counts`); register
    :meth:`record` (a bound method is cheaper to call than the instance)."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self._lock = threading.Lock()
        self._counts = Counts()
        self._calls = self._counts.calls
        self._slot = partial(bisect_left, bounds)
        self._width = len(bounds) + 3

    def __call__(self, event: Event) -> None:
        self.record(event)

    def record(self, event: Event) -> None:
        """Add ``event`` up."""
        if type(event) is OperationEvent:  # the frequent one: no match, one lock
            duration = event.duration
            key = (event.operation, event.outcome, event.hit, event.origin)
            slot = self._slot(duration) + 2
            with self._lock:
                row = self._calls.get(key)
                if row is None:
                    row = self._calls[key] = [0.0] * self._width
                row[0] += 1
                row[1] += duration
                row[slot] += 1
            return
        with self._lock:
            counts = self._counts
            if isinstance(event, BreakerEvent):
                # the label calls carry too: no user name either
                server = without_credentials(event.server)
                counts.transitions[server, event.state] += 1
                counts.open[server] = event.state == "open"
            elif isinstance(event, RateLimitEvent):
                decision = "allowed" if event.allowed else "refused"
                counts.decisions[event.limit, decision, event.failed or ""] += 1
            elif isinstance(event, NearCacheEvent):
                counts.near[event.kind, _server_label(event.server)] += event.count
            elif isinstance(event, StampedeEvent):
                labels = (event.outcome, event.origin.server, event.origin.prefix)
                counts.stampede[labels] += 1
                if event.compute_seconds is not None:
                    counts.compute_seconds[labels] += event.compute_seconds

    def counts(self) -> Counts:
        """A consistent copy of what it added up so far."""
        with self._lock:
            return self._counts.copy()


#: The one tally of the process, listening while at least one :class:`TallyView` runs.
_SHARED: Final = Tally()
_views_lock = threading.Lock()
_views_running = 0


class TallyView:
    """What the process's shared tally adds up while this view runs (from :meth:`start`
    to :meth:`stop`, or inside ``with``; several runs add up). The exporters are views, so
    two of them cost a cache call one tally update, not two."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS

    def __init__(self) -> None:
        self._kept = Counts()
        self._since: Counts | None = None  # the shared counts when the current run began

    @property
    def running(self) -> bool:
        return self._since is not None

    def start(self) -> Self:
        global _views_running  # noqa: PLW0603 - the shared tally listens while views run
        if self._since is None:
            with _views_lock:
                _views_running += 1
                if _views_running == 1:
                    add_listener(_SHARED.record)
            self._since = _SHARED.counts()
        return self

    def stop(self) -> None:
        global _views_running  # noqa: PLW0603 - the shared tally listens while views run
        if self._since is not None:
            self._kept = self.counts()
            self._since = None
            with _views_lock:
                _views_running -= 1
                if _views_running == 0:
                    remove_listener(_SHARED.record)

    def counts(self) -> Counts:
        """What this view has seen (all its runs)."""
        since = self._since
        if since is None:
            return self._kept.copy()
        now = _SHARED.counts()
        seen = now.plus(since, sign=-1)
        # what happened before this run is not this view's: no calls, no transitions
        seen.calls = {key: row for key, row in seen.calls.items() if row[0]}
        seen.without_zeros()
        changed = {server for server, _ in seen.transitions}
        seen.open = {server: is_open for server, is_open in now.open.items() if server in changed}
        return self._kept.plus(seen)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
