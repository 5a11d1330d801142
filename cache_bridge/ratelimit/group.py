"""All of a request's limits decided together: :func:`hit_all` / :func:`ahit_all`, and
:func:`refund` / :func:`arefund` to take back what decisions counted.

The rule, for every adapter and both frameworks: **a refused request costs no limit**. If any
limit of the group refuses (or fails closed), no limit counts the request.

- Limits on one bundled adapter are decided by one command, atomically (one Lua script on
  Redis, one locked step in memory); on Redis Cluster one script per hash slot, all sent
  together, and what one slot counted is taken back when another refused.
- Limits on different adapters, or on an adapter that only implements the protocol, are hit
  in order and what was counted is taken back when one refuses. Between the count and its
  refund (one round trip) a concurrent request may see the count; a refund that fails (the
  cache went away) leaves it counted, which can only refuse sooner.

The group is written once as a generator of ``(cache, step)`` pairs; :func:`drive` and
:func:`adrive` run it blocking or awaiting on the engine's drivers
(:mod:`cache_bridge.engine.drivers`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterable, Sequence
from typing import Any, TypeVar

from returns.result import Result

from cache_bridge.engine.commands import LimitEntry
from cache_bridge.engine.keys import InvalidArgument
from cache_bridge.engine.limit_algorithms import Reply
from cache_bridge.errors import CacheInvalidArgumentError, DomainError
from cache_bridge.observability import events
from cache_bridge.ratelimit.checks import (
    Check,
    Limited,
    keyspace,
    one_command,
    unpack,
)
from cache_bridge.ratelimit.decision import Decision
from cache_bridge.ratelimit.driving import Group, acall, adrive, call, drive
from cache_bridge.ratelimit.memory_fallback import from_memory, refund_in_memory
from cache_bridge.ratelimit.policy import unexpected
from cache_bridge.ratelimit.reporting import report
from cache_bridge.ratelimit.steps import (
    Call,
    StepFailed,
    fallback_hits,
    fallback_refund,
    rate_limit_hits,
    rate_limit_refund,
    step_value,
)

__all__ = [
    "acall",
    "adrive",
    "ahit_all",
    "arefund",
    "call",
    "drive",
    "group",
    "hit_all",
    "refund",
]

T = TypeVar("T")


#: Filled in by the part that runs the limit.
_NOT_RUN: Reply = (0, 0, 0, 0, 0, 0)


class _Part:
    """The limits of a group that run on one adapter, the one way that adapter allows."""

    def __init__(self, cache: Any, native: bool) -> None:
        self.cache, self.native = cache, native
        self.positions: list[int] = []
        self.limits: list[LimitEntry] = []


def _parts(limiters: Sequence[Limited], entries: Sequence[LimitEntry | None]) -> list[_Part]:
    parts: dict[tuple[int, bool], _Part] = {}
    for position, (limiter, entry) in enumerate(zip(limiters, entries, strict=True)):
        if entry is not None:
            index = (id(limiter.cache), limiter.native)
            part = parts.get(index)
            if part is None:
                part = parts[index] = _Part(limiter.cache, limiter.native)
            part.positions.append(position)
            part.limits.append(entry)
    return list(parts.values())


def _on(cache: Any, steps: Generator[Call, Result[Any, DomainError], T]) -> Group[T]:
    """Run a fallback's protocol calls on ``cache``."""
    try:
        step = next(steps)
        while True:
            step = steps.send((yield (cache, step)))
    except StopIteration as done:
        result: T = done.value
        return result


def _run_part(part: _Part) -> Group[list[Reply]]:
    if part.native:
        ns = keyspace(part.cache)
        replies: list[Reply] = step_value(
            (yield (part.cache, rate_limit_hits(ns, tuple(part.limits))))
        )
    else:
        replies = yield from _on(part.cache, fallback_hits(part.limits))
    return replies


def _entry(
    limiter: Limited, key: object, cost: Any, mode: str
) -> LimitEntry | DomainError | Decision:
    try:
        if type(cost) is not int or cost != 1:
            refused = limiter.policy.refused_cost(cost)
            if refused is not None:
                return refused
        entry = limiter.policy.entry(key, limiter.native, cost, mode)
        if isinstance(entry, LimitEntry) and limiter.native:
            # Checked here so that a bad key fails its own limit, not the whole command.
            keyspace(limiter.cache).key(entry.key)
    except InvalidArgument as exc:
        return CacheInvalidArgumentError(str(exc), operation="rate_limit")
    except Exception as exc:  # a hostile key or clock: a decision all the same
        return unexpected(exc)
    return entry


def group(checks: Sequence[Check]) -> Group[list[Decision]]:
    """The steps of :func:`hit_all`."""
    unpacked = [unpack(check) for check in checks]
    limiters = [limiter for limiter, _, _, _ in unpacked]
    outcomes: list[Reply | DomainError | Decision] = []
    entries: list[LimitEntry | None] = []
    for limiter, key, cost, mode in unpacked:
        entry = _entry(limiter, key, cost, mode)
        if isinstance(entry, LimitEntry):
            outcomes.append(_NOT_RUN)
            entries.append(entry)
        else:  # decided already: a bad key or cost, a hostile clock
            outcomes.append(entry)
            entries.append(None)
    for part in _parts(limiters, entries):
        try:
            replies: Sequence[Reply | DomainError] = yield from _run_part(part)
        except StepFailed as failed:
            replies = [failed.error] * len(part.positions)
        except Exception as exc:  # a protocol-only adapter answering nonsense
            replies = [unexpected(exc)] * len(part.positions)
        for position, reply in zip(part.positions, replies, strict=True):
            outcomes[position] = reply
    decisions = [
        outcome if isinstance(outcome, Decision) else limiter.policy.decide(outcome, entry)
        for limiter, outcome, entry in zip(limiters, outcomes, entries, strict=True)
    ]
    if any(d.error is not None for d in decisions):  # the in-memory fallback, if any
        policies = [limiter.policy for limiter in limiters]
        decisions = from_memory(policies, entries, decisions)
    if any(not d.allowed for d in decisions) and any(d.counted for d in decisions):
        # Parts on different adapters counted while another refused: take their counts back.
        yield from refunds(list(zip(limiters, decisions, strict=True)))
        decisions = [_uncounted(d) if d.counted else d for d in decisions]
    if events.listeners:  # nothing built while no one listens
        report(decisions, [mode for _, _, _, mode in unpacked])
    return decisions


def _uncounted(decision: Decision) -> Decision:
    return dataclasses.replace(decision, remaining=decision.remaining + decision.cost, receipt=None)


def refunds(pairs: Sequence[tuple[Limited, Decision]]) -> Group[None]:
    """The steps of :func:`refund`: best effort, a failure leaves the count in place.
    What the in-memory fallback counted is taken back there."""
    if any(d.fallback is not None for _, d in pairs):
        refund_in_memory([(lim.policy, d) for lim, d in pairs if d.fallback is not None])
        pairs = [(lim, d) for lim, d in pairs if d.fallback is None]
    limiters = [limiter for limiter, _ in pairs]
    receipts = [
        None if d.receipt is None else limiter.policy.counted(d.receipt, d.cost)
        for limiter, d in pairs
    ]
    for part in _parts(limiters, receipts):
        try:
            if part.native:
                ns = keyspace(part.cache)
                step_value((yield (part.cache, rate_limit_refund(ns, tuple(part.limits)))))
            else:
                yield from _on(part.cache, fallback_refund(part.limits))
        except Exception:  # StepFailed or a raising adapter: the count stays, refusing sooner
            continue


def hit_all(checks: Iterable[Check]) -> list[Decision]:
    """Count one request against every ``(limiter, key)`` (or ``(limiter, key, cost)``) of
    blocking limiters, all or nothing: one decision per check, in order; if any refuses, none
    counted the request. Limiters over one bundled adapter are decided in one round trip.
    Never raises."""
    checks = checks if isinstance(checks, list) else list(checks)
    if len(checks) == 1 and len(checks[0]) == 2:  # the usual case, without the generator
        return [checks[0][0].hit(checks[0][1])]
    one = one_command(checks)  # the next most usual: one adapter, one operation
    return one.decided(call(one.pair)) if one is not None else drive(group(checks))


async def ahit_all(checks: Iterable[Check]) -> list[Decision]:
    """:func:`hit_all` for :class:`~cache_bridge.ratelimit.AsyncRateLimiter`\\ s."""
    checks = checks if isinstance(checks, list) else list(checks)
    if len(checks) == 1 and len(checks[0]) == 2:
        return [await checks[0][0].hit(checks[0][1])]
    one = one_command(checks)
    return one.decided(await acall(one.pair)) if one is not None else await adrive(group(checks))


def refund(pairs: Iterable[tuple[Limited, Decision]]) -> None:
    """Take back what each decision counted, on its limiter's (blocking) adapter: for a
    request refused later on (another layer's limit, a framework's own check). Decisions that
    counted nothing are skipped. Best effort; never raises."""
    pairs = list(pairs)
    if pairs:
        drive(refunds(pairs))


async def arefund(pairs: Iterable[tuple[Limited, Decision]]) -> None:
    """:func:`refund` for :class:`~cache_bridge.ratelimit.AsyncRateLimiter`\\ s."""
    pairs = list(pairs)
    if pairs:
        await adrive(refunds(pairs))
