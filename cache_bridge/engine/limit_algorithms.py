"""The state transitions of the three rate-limit algorithms, on one stored string per limit,
and of a group of limits decided together.

:class:`~cache_bridge.engine.commands.RateLimitHit` means exactly :func:`hit_all` and
:class:`~cache_bridge.engine.commands.RateLimitRefund` exactly :func:`refund`: the in-memory store
calls them under its lock, and the Redis adapter's Lua scripts
(:mod:`cache_bridge.adapters.redis.limit_script`) are line-by-line ports, checked against them
by a differential test. Everything is integer arithmetic on milliseconds (exact in Lua's
doubles while ``limit * period_ms`` stays below 2**53, which :class:`~cache_bridge.ratelimit.Rate`
guarantees), so both executors decide alike.

Stored state (text, so that it reads the same in Redis and in memory):

- fixed window: ``"WINDOW COUNT"``, windows aligned to the clock (``now // period``); on
  Redis, a limit on the server's clock is kept as ``"COUNT"`` alone under a key that expires
  at its window's end (the count form of ``lua/rate_limit.lua``, which the script decides
  as this module does a ``"WINDOW COUNT"`` of the current window);
- sliding window counter: ``"WINDOW CURRENT PREVIOUS"``;
- token bucket (GCRA): ``"A B"``, the theoretical arrival time ``A + B / limit`` ms.

A state that does not parse is treated as no state (it is overwritten by the next allowed hit).

A group counts one request against several limits **all or nothing**: every limit is decided
(in order, each seeing what the ones before it would write), and the new states are written
only if every limit allows; if any refuses, nothing is written and the limits that had room
report their numbers without this request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cache_bridge.engine.commands import LimitEntry

__all__ = ["ALGORITHMS", "Outcome", "hit", "hit_all", "refund"]

#: The algorithm names a :class:`~cache_bridge.engine.commands.RateLimitHit` accepts.
ALGORITHMS = ("fixed-window", "sliding-window", "token-bucket")

_TWO = re.compile(r"(-?[0-9]+) ([0-9]+)")
_THREE = re.compile(r"(-?[0-9]+) ([0-9]+) ([0-9]+)")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one hit decided, and what to store: ``state`` (``None``: store nothing) expiring
    after ``ttl_ms``. ``idle_remaining`` and ``idle_reset_ms`` are ``remaining`` and
    ``reset_ms`` as they stand if this request is not counted after all (a group refused it)."""

    allowed: bool
    remaining: int
    reset_ms: int
    retry_ms: int
    state: str | None = None
    ttl_ms: int = 0
    idle_remaining: int = 0
    idle_reset_ms: int = 0

    def reply(self) -> tuple[int, int, int, int]:
        """The command's reply: ``(allowed, remaining, reset_ms, retry_ms)``."""
        return int(self.allowed), self.remaining, self.reset_ms, self.retry_ms


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def hit(
    algorithm: str,
    state: str | None,
    limit: int,
    period_ms: int,
    now_ms: int,
    *,
    cost: int = 1,
    force: bool = False,
) -> Outcome:
    """Count a request of ``cost`` units at ``now_ms`` against ``state``; see the module
    docstring. ``force``: count it even past the limit (allowed, never refused)."""
    if algorithm == "fixed-window":
        return _fixed(state, limit, period_ms, now_ms, cost=cost, force=force)
    if algorithm == "sliding-window":
        return _sliding(state, limit, period_ms, now_ms, cost=cost, force=force)
    if algorithm == "token-bucket":
        return _bucket(state, limit, period_ms, now_ms, cost=cost, force=force)
    raise ValueError(f"unknown rate-limit algorithm {algorithm!r}; use one of {ALGORITHMS}")


def _fixed(
    state: str | None, limit: int, period: int, now: int, *, cost: int, force: bool
) -> Outcome:
    window = now // period
    count = 0
    found = _TWO.fullmatch(state) if state else None
    if found and int(found[1]) == window:
        count = int(found[2])
    reset = (window + 1) * period - now
    if count + cost > limit and not force:
        return Outcome(False, max(0, limit - count), reset, reset, None, 0, 0, reset)
    count += cost
    remaining = max(0, limit - count)
    return Outcome(
        True, remaining, reset, 0, f"{window} {count}", reset, max(0, limit - count + cost), reset
    )


def _sliding(
    state: str | None, limit: int, period: int, now: int, *, cost: int, force: bool
) -> Outcome:
    window = now // period
    current = previous = 0
    found = _THREE.fullmatch(state) if state else None
    if found:
        stored = int(found[1])
        if stored == window:
            current, previous = int(found[2]), int(found[3])
        elif stored == window - 1:
            previous = int(found[2])
    elapsed = now - window * period
    left = period - elapsed
    # The estimate is previous * left / period + current; compare it scaled by period.
    weighted = previous * left
    if weighted + (current + cost) * period > limit * period and not force:
        if current + cost > limit:
            # Wait for the next window, then until this window's count has slid out enough.
            slide = _ceil_div(period * (current - limit + cost), current) if current else 0
            retry = left + max(0, slide)
        else:
            retry = _ceil_div(weighted - (limit - cost - current) * period, previous)
        reset = left + period if current > 0 else left
        now_left = max(0, (limit * period - weighted - current * period) // period)
        return Outcome(False, now_left, reset, max(1, retry), None, 0, 0, reset)
    # Without this request the quota is fully back when the counts so far have slid out.
    idle_reset = left + period if current > 0 else (left if previous > 0 else 0)
    current += cost
    remaining = max(0, (limit * period - weighted - current * period) // period)
    idle_remaining = max(0, (limit * period - weighted - (current - cost) * period) // period)
    return Outcome(
        True,
        remaining,
        left + period,
        0,
        f"{window} {current} {previous}",
        left + period,
        idle_remaining,
        idle_reset,
    )


def _bucket(
    state: str | None, limit: int, period: int, now: int, *, cost: int, force: bool
) -> Outcome:
    # GCRA with a burst of ``limit``: one unit costs ``period / limit`` ms of the bucket.
    # Times are kept as ``a + b / limit`` ms so that the arithmetic stays in integers.
    a, b = now, 0
    found = _TWO.fullmatch(state) if state else None
    if found:
        stored_a, stored_b = int(found[1]), int(found[2])
        if (stored_a - now) * limit + stored_b > 0:
            a, b = stored_a, stored_b
    ahead_before = (a - now) * limit + b  # theoretical arrival time - now, times limit
    b += period * cost
    a += b // limit
    b %= limit
    ahead = (a - now) * limit + b
    capacity = period * limit
    idle_reset = _ceil_div(ahead_before, limit)
    idle_remaining = max(0, (capacity - ahead_before) // period)
    if ahead > capacity and not force:
        retry = max(1, _ceil_div(ahead - capacity, limit))
        return Outcome(False, idle_remaining, idle_reset, retry, None, 0, 0, idle_reset)
    ttl = max(1, _ceil_div(ahead, limit))
    remaining = max(0, (capacity - ahead) // period)
    return Outcome(True, remaining, ttl, 0, f"{a} {b}", ttl, idle_remaining, idle_reset)


#: One limit's part of a group's reply: allowed, remaining, reset_ms, retry_ms, counted (1 when
#: the group wrote its state), now_ms (the time it was decided at).
Reply = tuple[int, int, int, int, int, int]


def _outcome(entry: LimitEntry, state: str | None, now: int) -> Outcome:
    force = entry.mode == "force"
    return hit(
        entry.algorithm, state, entry.limit, entry.period_ms, now, cost=entry.cost, force=force
    )


def hit_all(
    limits: Sequence[LimitEntry], states: Sequence[str | None], now_ms: int
) -> tuple[list[Reply], list[tuple[str, str, int]]]:
    """Count one request against every limit of a group, all or nothing.

    ``states`` are the stored states of the limits' keys; a limit without its own time
    (``now_ms`` of ``None``) is decided at ``now_ms``. Each limit counts the entry's ``cost``;
    a ``"peek"`` limit decides without writing (it refuses the group when it would refuse),
    a ``"force"`` one counts and never refuses. Returns one :data:`Reply` per limit and the
    writes to make, ``(key, state, ttl_ms)`` in order: none unless every limit allowed.
    """
    if len(limits) == 1:  # the usual case, without the bookkeeping (the same rules)
        (entry,), (stored,) = limits, states
        now = now_ms if entry.now_ms is None else entry.now_ms
        o = _outcome(entry, stored, now)
        if not o.allowed:
            return [(0, o.remaining, o.reset_ms, o.retry_ms, 0, now)], []
        if entry.mode == "peek":
            return [(1, o.idle_remaining, o.idle_reset_ms, 0, 0, now)], []
        writes = [] if o.state is None else [(entry.key, o.state, o.ttl_ms)]
        return [(1, o.remaining, o.reset_ms, 0, 1, now)], writes
    pending: dict[str, str] = {}
    decided: list[tuple[Outcome, int]] = []
    for entry, stored in zip(limits, states, strict=True):
        state = pending.get(entry.key, stored)
        now = now_ms if entry.now_ms is None else entry.now_ms
        outcome = _outcome(entry, state, now)
        if outcome.state is not None and entry.mode != "peek":
            pending[entry.key] = outcome.state
        decided.append((outcome, now))
    if all(outcome.allowed for outcome, _ in decided):
        replies: list[Reply] = [
            (1, o.idle_remaining, o.idle_reset_ms, 0, 0, now)
            if entry.mode == "peek"
            else (1, o.remaining, o.reset_ms, 0, 1, now)
            for entry, (o, now) in zip(limits, decided, strict=True)
        ]
        writes = [
            (entry.key, o.state, o.ttl_ms)
            for entry, (o, _) in zip(limits, decided, strict=True)
            if o.state is not None and entry.mode != "peek"
        ]
        return replies, writes
    replies = [
        (1, o.idle_remaining, o.idle_reset_ms, 0, 0, now)
        if o.allowed
        else (0, o.remaining, o.reset_ms, o.retry_ms, 0, now)
        for o, now in decided
    ]
    return replies, []


def refund(
    algorithm: str, state: str | None, limit: int, period_ms: int, hit_ms: int, *, cost: int = 1
) -> str | None:
    """``state`` with a request of ``cost`` units, counted at ``hit_ms``, taken back; ``None``
    when there is nothing to take back (no state, or its window has moved past that
    request)."""
    found = _TWO.fullmatch(state) if state and algorithm != "sliding-window" else None
    if algorithm == "fixed-window":
        if found and int(found[1]) == hit_ms // period_ms and int(found[2]) > 0:
            return f"{found[1]} {max(0, int(found[2]) - cost)}"
        return None
    if algorithm == "sliding-window":
        three = _THREE.fullmatch(state) if state else None
        if three is None:
            return None
        window, current, previous = int(three[1]), int(three[2]), int(three[3])
        if window == hit_ms // period_ms and current > 0:
            return f"{window} {max(0, current - cost)} {previous}"
        if window == hit_ms // period_ms + 1 and previous > 0:
            return f"{window} {current} {max(0, previous - cost)}"
        return None
    if algorithm == "token-bucket":
        if found is None:
            return None
        b = int(found[2]) - period_ms * cost  # the request's share of the theoretical arrival
        return f"{int(found[1]) + b // limit} {b % limit}"
    raise ValueError(f"unknown rate-limit algorithm {algorithm!r}; use one of {ALGORITHMS}")
