"""The state transitions of the three rate-limit algorithms, on one stored string per limit.

:class:`~cache_bridge.commands.RateLimitHit` means exactly this function: the in-memory store
calls it under its lock, and the Redis adapter's Lua script
(:mod:`cache_bridge.adapters.redis.limit_script`) is a line-by-line port of it, checked against
it by a differential test. Everything is integer arithmetic on milliseconds (exact in Lua's
doubles while ``limit * period_ms`` stays below 2**53, which :class:`~cache_bridge.ratelimit.Rate`
guarantees), so both executors decide alike.

Stored state (text, so that it reads the same in Redis and in memory):

- fixed window: ``"WINDOW COUNT"``, windows aligned to the clock (``now // period``);
- sliding window counter: ``"WINDOW CURRENT PREVIOUS"``;
- token bucket (GCRA): ``"A B"``, the theoretical arrival time ``A + B / limit`` ms.

A state that does not parse is treated as no state (it is overwritten by the next allowed hit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALGORITHMS", "Outcome", "hit"]

#: The algorithm names a :class:`~cache_bridge.commands.RateLimitHit` accepts.
ALGORITHMS = ("fixed-window", "sliding-window", "token-bucket")

_TWO = re.compile(r"(-?[0-9]+) ([0-9]+)")
_THREE = re.compile(r"(-?[0-9]+) ([0-9]+) ([0-9]+)")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one hit decided, and what to store: ``state`` (``None``: store nothing) expiring
    after ``ttl_ms``."""

    allowed: bool
    remaining: int
    reset_ms: int
    retry_ms: int
    state: str | None = None
    ttl_ms: int = 0

    def reply(self) -> tuple[int, int, int, int]:
        """The command's reply: ``(allowed, remaining, reset_ms, retry_ms)``."""
        return int(self.allowed), self.remaining, self.reset_ms, self.retry_ms


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def hit(algorithm: str, state: str | None, limit: int, period_ms: int, now_ms: int) -> Outcome:
    """Count one request at ``now_ms`` against ``state``; see the module docstring."""
    if algorithm == "fixed-window":
        return _fixed(state, limit, period_ms, now_ms)
    if algorithm == "sliding-window":
        return _sliding(state, limit, period_ms, now_ms)
    if algorithm == "token-bucket":
        return _bucket(state, limit, period_ms, now_ms)
    raise ValueError(f"unknown rate-limit algorithm {algorithm!r}; use one of {ALGORITHMS}")


def _fixed(state: str | None, limit: int, period: int, now: int) -> Outcome:
    window = now // period
    count = 0
    found = _TWO.fullmatch(state) if state else None
    if found and int(found[1]) == window:
        count = int(found[2])
    reset = (window + 1) * period - now
    if count >= limit:
        return Outcome(False, 0, reset, reset)
    count += 1
    return Outcome(True, limit - count, reset, 0, f"{window} {count}", reset)


def _sliding(state: str | None, limit: int, period: int, now: int) -> Outcome:
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
    if weighted + (current + 1) * period > limit * period:
        if current >= limit:
            # Wait for the next window, then until this window's count has slid out enough.
            retry = left + max(0, _ceil_div(period * (current - limit + 1), current))
        else:
            retry = _ceil_div(weighted - (limit - 1 - current) * period, previous)
        reset = left + period if current > 0 else left
        return Outcome(False, 0, reset, max(1, retry))
    current += 1
    remaining = (limit * period - weighted - current * period) // period
    return Outcome(
        True, max(0, remaining), left + period, 0, f"{window} {current} {previous}", left + period
    )


def _bucket(state: str | None, limit: int, period: int, now: int) -> Outcome:
    # GCRA with a burst of ``limit``: one request costs ``period / limit`` ms of the bucket.
    # Times are kept as ``a + b / limit`` ms so that the arithmetic stays in integers.
    a, b = now, 0
    found = _TWO.fullmatch(state) if state else None
    if found:
        stored_a, stored_b = int(found[1]), int(found[2])
        if (stored_a - now) * limit + stored_b > 0:
            a, b = stored_a, stored_b
    ahead_before = (a - now) * limit + b  # theoretical arrival time - now, times limit
    b += period
    a += b // limit
    b %= limit
    ahead = (a - now) * limit + b
    capacity = period * limit
    if ahead > capacity:
        return Outcome(
            False,
            0,
            _ceil_div(ahead_before, limit),
            max(1, _ceil_div(ahead - capacity, limit)),
        )
    ttl = max(1, _ceil_div(ahead, limit))
    return Outcome(True, (capacity - ahead) // period, ttl, 0, f"{a} {b}", ttl)
