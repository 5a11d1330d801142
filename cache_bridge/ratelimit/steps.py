"""The steps of a rate-limit check, written once for both faces and both kinds of adapter.

- On the bundled adapters (the faces in :mod:`cache_bridge.faces`), one :class:`Op` carrying a
  :class:`~cache_bridge.engine.commands.RateLimitHit` decides every limit of a group at once, all or
  nothing, in one round trip (one Lua script on Redis; one script per hash slot on Cluster,
  where the operation takes back what one slot counted when another refused).
- On any other adapter (one that implements only the protocol), generators of :class:`Call`\\ s
  of protocol methods: window counters with ``increment`` and ``expire`` (and a ``ttl`` check
  that repairs a counter found without expiry), hit in order, with what was counted taken back
  (``decrement``) when a limit of the group refuses. The token bucket needs an atomic
  read-and-write that the protocol lacks; the limiters refuse it there
  (:func:`check_fallback_algorithm`).

Every step answers with :data:`~cache_bridge.engine.limit_algorithms.Reply` tuples, one per limit;
the
group logic (:mod:`cache_bridge.ratelimit.group`) and the drivers run them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from returns.result import Failure, Result, Success

from cache_bridge.engine.commands import LimitEntry, RateLimitHit, RateLimitRefund
from cache_bridge.engine.keys import KeySpace
from cache_bridge.engine.limit_algorithms import Reply, hit
from cache_bridge.engine.operations import Op, Steps, operation
from cache_bridge.errors import CacheError, ConfigurationError, DomainError

__all__ = [
    "Call",
    "StepFailed",
    "check_fallback_algorithm",
    "counted_reply",
    "fallback_hits",
    "fallback_refund",
    "rate_limit_hit",
    "rate_limit_hits",
    "rate_limit_refund",
    "step_value",
    "uncounted",
]

#: Integers per limit in a :class:`RateLimitHit` reply.
_PER_LIMIT = 6


@dataclass(frozen=True, slots=True)
class Call:
    """A protocol method to call on the adapter, with its arguments."""

    method: str
    args: tuple[Any, ...]


Step = Op[Any] | Call
Fallback = Generator[Call, Result[Any, DomainError], Any]


class StepFailed(Exception):
    """A step's Result was a Failure; ``error`` is its error value."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(str(error))
        self.error = error


def step_value(result: Result[Any, DomainError]) -> Any:
    """The value of a step's Result; raises :class:`StepFailed` for a Failure (or anything
    that is not a Result)."""
    match result:
        case Success(value):
            return value
        case Failure(error):
            raise StepFailed(error)
    raise StepFailed(CacheError(f"not a Result: {result!r}", operation="rate_limit"))


def uncounted(reply: Reply, cost: int = 1) -> Reply:
    """``reply`` of an allowed limit whose count (``cost`` units) was taken back."""
    return (reply[0], reply[1] + cost, reply[2], 0, 0, reply[5])


def counted_reply(entry: LimitEntry, reply: Sequence[Any], now: int | None = None) -> Reply:
    """The six numbers of ``entry``'s decision from a count-form reply ``[n, pttl]`` (see
    :class:`~cache_bridge.engine.commands.RateLimitHit`: one fixed-window limit on the store's
    clock, its window ending when its count expires, ``pttl`` ms from now; -2: no count yet).
    ``n``: modes ``"hit"`` and ``"force"``: the count after this request, or ``-1 - count``
    (the count before it) when it was not counted (refused, or taken back because another
    limit of its group refused); ``"peek"``: the count before it.

    The store read no clock for it: the window's end, one of the multiples of the period, is
    this process's time plus ``pttl`` rounded to the nearest, exact while the clocks agree
    within half a period; the decision's time (its receipt's, which a refund compares with
    the store's window) is in that window, ``pttl`` before its end. ``now``: this process's
    time in Unix ms, read once for a group's replies (read here without it)."""
    n, pttl = int(reply[0]), int(reply[1])
    period, limit = entry.period_ms, entry.limit
    if now is None:
        now = math.floor(time.time() * 1000)
    if pttl < 0:  # no count (a peek before any hit): the window this process's clock is in
        pttl = period - now % period
    # 0 through the window's last millisecond (the key still there): that window, not the next.
    pttl = pttl or 1
    end = round((now + pttl) / period) * period
    now = end - pttl
    if entry.mode == "peek":
        if n + entry.cost > limit:
            return (0, max(0, limit - n), pttl, pttl, 0, now)
        return (1, limit - n, pttl, 0, 0, now)
    if n < 0:  # not counted: refused, or taken back when another limit of its group refused
        before = -1 - n
        if entry.mode == "force" or before + entry.cost <= limit:
            return (1, max(0, limit - before), pttl, 0, 0, now)
        return (0, max(0, limit - before), pttl, pttl, 0, now)
    return (1, max(0, limit - n), pttl, 0, 1, now)


def _replies(reply: Sequence[Any], count: int, entries: Sequence[LimitEntry]) -> list[Reply]:
    if len(reply) == 2 * count:  # the count form (six per limit otherwise)
        if count == 1:  # the usual check, without slicing
            return [counted_reply(entries[0], reply)]
        now = math.floor(time.time() * 1000)
        pairs = iter(reply)  # zip of one iterator twice: the pairs, without a slice each
        return [
            counted_reply(entry, pair, now)
            for entry, pair in zip(entries, zip(pairs, pairs, strict=True), strict=True)
        ]
    numbers = [int(n) for n in reply]
    if len(numbers) != _PER_LIMIT * count:
        raise CacheError(f"a rate-limit reply of {len(numbers)} numbers", operation="rate_limit")
    return [
        (numbers[i], numbers[i + 1], numbers[i + 2], numbers[i + 3], numbers[i + 4], numbers[i + 5])
        for i in range(0, len(numbers), _PER_LIMIT)
    ]


@operation("rate_limit")
def rate_limit_hit(
    ns: KeySpace,
    key: object,
    *,
    algorithm: str,
    limit: int,
    period_ms: int,
    now_ms: int | None,
    cost: int = 1,
    mode: str = "hit",
) -> Steps[Reply]:
    """Count one request of ``cost`` units against the one limit at ``key`` (one atomic
    command; ``mode`` as :class:`~cache_bridge.engine.commands.LimitEntry`)."""
    entry = LimitEntry(ns.key(key), algorithm, limit, period_ms, now_ms, cost, mode)
    return _replies((yield RateLimitHit((entry,))), 1, (entry,))[0]


def _stored(ns: KeySpace, limit: LimitEntry) -> LimitEntry:
    """``limit`` with its key in ``ns`` (a plain constructor call: ``dataclasses.replace``
    costs several times more, once per limit per request)."""
    return LimitEntry(
        ns.key(limit.key),
        limit.algorithm,
        limit.limit,
        limit.period_ms,
        limit.now_ms,
        limit.cost,
        limit.mode,
    )


@operation("rate_limit", keyed=False)
def rate_limit_hits(ns: KeySpace | None, limits: tuple[LimitEntry, ...]) -> Steps[list[Reply]]:
    """Count one request against every limit of ``limits`` (keys in ``ns``; ``None``: keys
    already in their namespace), all or nothing."""
    stored = limits if ns is None else tuple(_stored(ns, lim) for lim in limits)
    replies = _replies((yield RateLimitHit(stored)), len(stored), stored)
    counted = [i for i, reply in enumerate(replies) if reply[4]]
    if counted and len(counted) < len(replies) and not all(reply[0] for reply in replies):
        # An executor that splits the group (one script per Cluster slot) counted some parts
        # while another refused: take those counts back, so the refused request costs none.
        yield RateLimitRefund(tuple(_at(stored[i], replies[i][5]) for i in counted))
        replies = [
            uncounted(reply, entry.cost) if reply[4] else reply
            for entry, reply in zip(stored, replies, strict=True)
        ]
    return replies


@operation("rate_limit", keyed=False)
def rate_limit_refund(ns: KeySpace, limits: tuple[LimitEntry, ...]) -> Steps[int]:
    """Take back one request from each limit (``now_ms``: when it was counted)."""
    stored = tuple(_stored(ns, lim) for lim in limits)
    changed = yield RateLimitRefund(stored)
    return int(changed)


def _at(limit: LimitEntry, now_ms: int) -> LimitEntry:
    return dataclasses.replace(limit, now_ms=now_ms, mode="hit")


# -- the protocol-only fallback ------------------------------------------------------------


def check_fallback_algorithm(algorithm: str) -> None:
    """Raise ``ConfigurationError`` for an algorithm the fallback cannot keep within its limit
    under concurrency (the token bucket: a read and a write that other requests interleave)."""
    if algorithm == "token-bucket":
        raise ConfigurationError(
            "the token-bucket algorithm needs an adapter with the atomic rate-limit operation "
            "(the bundled memory://, redis://, cluster and sentinel adapters); over protocol "
            "methods alone concurrent requests would pass unlimited. Use "
            "algorithm='sliding-window' (its closest relative) or 'fixed-window' on this "
            "adapter, or drop native=False."
        )


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))


def _count(key: str, amount: int, ttl_s: int) -> Generator[Call, Any, int]:
    """Add to a counter and make sure it expires: on creation, or when found without expiry
    (a process that died between ``increment`` and ``expire`` left it so)."""
    count = int(step_value((yield Call("increment", (key, amount)))))
    if count == amount or step_value((yield Call("ttl", (key,)))) is None:
        step_value((yield Call("expire", (key, ttl_s))))
    return count


def _int_or_zero(raw: object) -> int:
    try:
        return max(0, int(str(raw))) if raw is not None else 0
    except ValueError:
        return 0


def _fallback_peek(limit: LimitEntry, now_ms: int) -> Generator[Call, Any, Reply]:
    """Decide ``limit`` (its cost) on the counters as they are, writing nothing."""
    window = now_ms // limit.period_ms
    current = _int_or_zero(step_value((yield Call("get", (f"{limit.key}:{window}",)))))
    state = f"{window} {current}"
    if limit.algorithm != "fixed-window":
        previous = _int_or_zero(step_value((yield Call("get", (f"{limit.key}:{window - 1}",)))))
        state += f" {previous}"
    o = hit(limit.algorithm, state, limit.limit, limit.period_ms, now_ms, cost=limit.cost)
    if o.allowed:
        return (1, o.idle_remaining, o.idle_reset_ms, 0, 0, now_ms)
    return (0, o.remaining, o.reset_ms, o.retry_ms, 0, now_ms)


def _fallback_hit(limit: LimitEntry, now_ms: int) -> Generator[Call, Any, Reply]:
    key, algorithm, period_ms, cost = limit.key, limit.algorithm, limit.period_ms, limit.cost
    check_fallback_algorithm(algorithm)
    if limit.mode == "peek":
        return (yield from _fallback_peek(limit, now_ms))
    force = limit.mode == "force"
    window = now_ms // period_ms
    left = period_ms - (now_ms - window * period_ms)
    current_key = f"{key}:{window}"
    if algorithm == "fixed-window":
        count = yield from _count(current_key, cost, _seconds(left))
        state = f"{window} {count - cost}"
    else:
        previous = _int_or_zero(step_value((yield Call("get", (f"{key}:{window - 1}",)))))
        count = yield from _count(current_key, cost, _seconds(left + period_ms))
        state = f"{window} {count - cost} {previous}"
    outcome = hit(algorithm, state, limit.limit, period_ms, now_ms, cost=cost, force=force)
    if not outcome.allowed and (cost > 1 or algorithm != "fixed-window"):
        # A refusal is not counted: take the increment back (a fixed window's single hit on
        # a full window may stay: it only counts past a limit already reached).
        step_value((yield Call("decrement", (current_key, cost))))
    if outcome.allowed:
        return (1, outcome.remaining, outcome.reset_ms, 0, 1, now_ms)
    return (0, outcome.remaining, outcome.reset_ms, outcome.retry_ms, 0, now_ms)


def fallback_hits(limits: Sequence[LimitEntry]) -> Fallback:
    """Count one request against every limit in order with protocol methods (each at its
    ``now_ms``, the caller's clock); if any refuses, take back what the others counted. Not
    atomic: between the count and its refund another request may see it."""
    replies: list[Reply] = []
    try:
        for limit in limits:
            assert limit.now_ms is not None, "the fallback runs on the caller's clock"
            replies.append((yield from _fallback_hit(limit, limit.now_ms)))
    except StepFailed:
        # The cache failed part-way: take back what the limits before counted, then fail.
        taken = [_at(limits[i], reply[5]) for i, reply in enumerate(replies) if reply[4]]
        with contextlib.suppress(StepFailed):  # if it fails too, the counts stay
            yield from fallback_refund(taken)
        raise
    counted = [i for i, reply in enumerate(replies) if reply[4]]
    if counted and len(counted) < len(replies):
        yield from fallback_refund([_at(limits[i], replies[i][5]) for i in counted])
        replies = [
            uncounted(reply, limit.cost) if reply[4] else reply
            for limit, reply in zip(limits, replies, strict=True)
        ]
    return replies


def fallback_refund(limits: Sequence[LimitEntry]) -> Fallback:
    """Take back one request from each window counter (``now_ms``: when it was counted)."""
    for limit in limits:
        check_fallback_algorithm(limit.algorithm)
        assert limit.now_ms is not None, "a refund says when the request was counted"
        key = f"{limit.key}:{limit.now_ms // limit.period_ms}"
        if int(step_value((yield Call("decrement", (key, limit.cost))))) < 0:
            # The counter had expired: the decrement made a new one; let it go at once.
            step_value((yield Call("expire", (key, 1))))
