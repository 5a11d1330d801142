"""One rate-limit check, written once for both faces and both kinds of adapter.

A check is a generator that yields steps and receives their ``Result``s:

- on the bundled adapters (the faces in :mod:`cache_bridge.faces`), one :class:`Op` carrying a
  :class:`~cache_bridge.commands.RateLimitHit`: one atomic round trip (a Lua script on Redis);
- on any other adapter (one that implements only the protocol), :class:`Call`\\ s of protocol
  methods: counters with ``increment`` and ``expire`` (and a ``ttl`` check that repairs a
  counter found without expiry), the token bucket with ``get`` and ``set``.

The limiter's drivers (:mod:`cache_bridge.ratelimit.limiter`) run the steps blocking or
awaiting; the decisions themselves come from :func:`cache_bridge.limit_state.hit` either way.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from returns.result import Failure, Result, Success

from cache_bridge.commands import RateLimitHit
from cache_bridge.errors import CacheError, DomainError
from cache_bridge.keys import KeySpace
from cache_bridge.limit_state import Outcome, hit
from cache_bridge.operations import Op, Steps, _operation

__all__ = ["Call", "Check", "StepFailed", "fallback_check", "native_check", "rate_limit_hit"]


@dataclass(frozen=True, slots=True)
class Call:
    """A protocol method to call on the adapter, with its arguments."""

    method: str
    args: tuple[Any, ...]


Step = Op[Any] | Call
Check = Generator[Step, Result[Any, DomainError], Outcome]


class StepFailed(Exception):
    """A step's Result was a Failure; ``error`` is its error value."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(str(error))
        self.error = error


def _value(result: Result[Any, DomainError]) -> Any:
    match result:
        case Success(value):
            return value
        case Failure(error):
            raise StepFailed(error)
    raise StepFailed(CacheError(f"not a Result: {result!r}", operation="rate_limit"))


@_operation("rate_limit")
def rate_limit_hit(
    ns: KeySpace, key: object, *, algorithm: str, limit: int, period_ms: int, now_ms: int | None
) -> Steps[Outcome]:
    """Count one request against the state at ``key`` (one atomic command)."""
    reply = yield RateLimitHit(ns.key(key), algorithm, limit, period_ms, now_ms)
    allowed, remaining, reset_ms, retry_ms = reply
    return Outcome(bool(int(allowed)), int(remaining), int(reset_ms), int(retry_ms))


def native_check(
    ns: KeySpace,
    key: str,
    *,
    algorithm: str,
    limit: int,
    period_ms: int,
    now_ms: int | None,
) -> Check:
    """The check as one operation, for adapters that run :class:`RateLimitHit`."""
    op = rate_limit_hit(
        ns,
        key,
        algorithm=algorithm,
        limit=limit,
        period_ms=period_ms,
        now_ms=now_ms,
    )
    outcome: Outcome = _value((yield op))
    return outcome


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))


def _count(key: str, amount: int, ttl_s: int) -> Generator[Step, Any, int]:
    """Add to a counter and make sure it expires: on creation, or when found without expiry
    (a process that died between ``increment`` and ``expire`` left it so)."""
    count = int(_value((yield Call("increment", (key, amount)))))
    if count == amount or _value((yield Call("ttl", (key,)))) is None:
        _value((yield Call("expire", (key, ttl_s))))
    return count


def _int_or_zero(raw: object) -> int:
    try:
        return max(0, int(str(raw))) if raw is not None else 0
    except ValueError:
        return 0


def fallback_check(key: str, algorithm: str, limit: int, period_ms: int, now_ms: int) -> Check:
    """The check on protocol methods only, with the caller's clock.

    Fixed and sliding windows keep one counter per window (``KEY:WINDOW``); a denied request
    is not counted (the sliding window takes its increment back). The token bucket reads and
    writes its state with ``get`` and ``set``, which is not atomic: concurrent requests may
    each see the same state and a few more than the limit get through.
    """
    window = now_ms // period_ms
    left = period_ms - (now_ms - window * period_ms)
    if algorithm == "fixed-window":
        count = yield from _count(f"{key}:{window}", 1, _seconds(left))
        return hit(algorithm, f"{window} {count - 1}", limit, period_ms, now_ms)
    if algorithm == "sliding-window":
        previous = _int_or_zero(_value((yield Call("get", (f"{key}:{window - 1}",)))))
        current_key = f"{key}:{window}"
        count = yield from _count(current_key, 1, _seconds(left + period_ms))
        outcome = hit(algorithm, f"{window} {count - 1} {previous}", limit, period_ms, now_ms)
        if not outcome.allowed:
            _value((yield Call("decrement", (current_key, 1))))
        return outcome
    state = _value((yield Call("get", (key,))))
    outcome = hit(algorithm, state, limit, period_ms, now_ms)
    if outcome.state is not None:
        _value((yield Call("set", (key, outcome.state, _seconds(outcome.ttl_ms)))))
    return outcome
