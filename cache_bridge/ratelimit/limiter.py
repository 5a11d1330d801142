"""The limiters: :class:`RateLimiter` (blocking) and :class:`AsyncRateLimiter`, one policy each.

Both run the same check and never raise: on a bundled face one operation
(:mod:`cache_bridge.ratelimit.steps`) that the face's ``run_operation`` drives, elsewhere the
protocol fallback, grouped by :mod:`cache_bridge.ratelimit.group` and run on the engine's
drivers. When the cache cannot be asked, the decision follows the limit's failure policy
(fail open: allowed; fail closed: denied) and carries the error, and the failure is logged
once per burst of failures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

from returns.result import Failure, Success

from cache_bridge.engine.commands import LimitEntry
from cache_bridge.engine.limit_algorithms import Reply
from cache_bridge.engine.operations import Op
from cache_bridge.errors import CacheError, DomainError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.observability import events
from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol
from cache_bridge.ratelimit.checks import Limited, keyspace
from cache_bridge.ratelimit.decision import Decision
from cache_bridge.ratelimit.driving import Group, acall, adrive, call, drive
from cache_bridge.ratelimit.group import group
from cache_bridge.ratelimit.memory_fallback import from_memory
from cache_bridge.ratelimit.policy import LimitPolicy, limit_log, unexpected
from cache_bridge.ratelimit.rate import Rate
from cache_bridge.ratelimit.reporting import report
from cache_bridge.ratelimit.steps import check_fallback_algorithm, rate_limit_hit
from cache_bridge.resilience.outage_log import OutageLog

__all__ = ["AsyncRateLimiter", "RateLimiter", "limit_log"]


def _reply(result: object) -> Reply | DomainError:
    """What a native check's Result holds."""
    if isinstance(result, Success):
        reply: Reply = result.unwrap()
        return reply
    if isinstance(result, Failure):
        error: DomainError = result.failure()
        return error
    return CacheError(f"not a Result: {result!r}", operation="rate_limit")


class _Limiter:
    """What both limiter faces share: the policy, and whether the one-command check applies."""

    _face: type[Any]

    def __init__(
        self,
        cache: Any,
        rate: str | Rate,
        *,
        algorithm: str = "fixed-window",
        name: str = "default",
        prefix: str = "ratelimit",
        fail_open: bool = True,
        clock: Callable[[], float] | None = None,
        native: bool | None = None,
        failure_log: OutageLog | None = None,
        fallback: str | None = None,
    ) -> None:
        self.cache = cache
        self.policy = LimitPolicy(
            rate,
            algorithm=algorithm,
            name=name,
            prefix=prefix,
            fail_open=fail_open,
            clock=clock,
            failure_log=failure_log,
            fallback=fallback,
        )
        self.native: bool = isinstance(cache, self._face) if native is None else bool(native)
        if not self.native:
            check_fallback_algorithm(algorithm)

    @property
    def rate(self) -> Rate:
        return self.policy.rate

    def _one(self, key: str, cost: int) -> tuple[Op[Reply] | DomainError | Decision, str]:
        """The one-limit native check for ``key``: its operation (or why there is none, or
        the decision already taken for a cost the limit cannot count) and the state key it
        checks."""
        try:
            policy = self.policy
            if type(cost) is not int or cost != 1:
                refused = policy.refused_cost(cost)
                if refused is not None:
                    return refused, ""
            if type(key) is not str:
                entry = policy.entry(key, True)  # checks it, or a plain copy of a str subclass
                if not isinstance(entry, LimitEntry):
                    return entry, ""
                key = entry.key
            else:
                key = policy.storage_key(key)
            rate = policy.rate
            clock = policy.clock
            now = None if clock is None else math.floor(clock() * 1000)
            op = rate_limit_hit(
                keyspace(self.cache),
                key,
                algorithm=policy.algorithm,
                limit=rate.limit,
                period_ms=rate.period_ms,
                now_ms=now,
                cost=cost,
            )
        except Exception as exc:  # a hostile key or clock: a decision all the same
            return unexpected(exc), ""
        return op, key

    def fallback(self, key: str, cost: int = 1) -> Group[Decision]:
        """The protocol fallback's steps for one check of ``key`` (a group of one)."""
        return _first(group(((cast(Limited, self), key, cost),)))

    def decided(
        self, op: Op[Reply] | DomainError | Decision, done: object, key: str, cost: int
    ) -> Decision:
        """The decision of a one-limit native check: ``op`` already decided, or its Result."""
        decision = (
            op if isinstance(op, Decision) else self.policy.decide_one(_reply(done), key, cost)
        )
        if decision.error is not None and self.policy.fallback is not None and key:
            # The cache could not be asked: the in-memory fallback decides (failures only).
            policy = self.policy
            entry = policy.entry_at(key, policy.now_ms(True), cost)
            decision = from_memory((policy,), (entry,), [decision])[0]
        if events.listeners:  # nothing built while no one listens
            report((decision,))
        return decision


def _failed(outcome: DomainError | Decision) -> object:
    return outcome if isinstance(outcome, Decision) else Failure(outcome)


def _first(steps: Group[list[Decision]]) -> Group[Decision]:
    decisions = yield from steps
    return decisions[0]


class RateLimiter(_Limiter):
    """A blocking limiter over a :class:`~cache_bridge.protocol.SyncCacheProtocol` adapter.

    ``rate`` is a string (``"100/m"``, ``"20/10s"``) or a :class:`Rate`; ``algorithm`` one of
    ``"fixed-window"`` (default), ``"sliding-window"``, ``"token-bucket"``. State lives at
    ``PREFIX:NAME:RATE:ALGORITHM:{KEY}`` in the adapter's namespace (each limit its own).
    ``fail_open`` (default ``True``) allows requests when the cache cannot be asked; ``False``
    denies them. ``clock`` (seconds) gives the time to the check; without one the store's own
    clock decides (Redis: ``TIME``), except on adapters that only implement the protocol,
    which use ``time.time``. ``native`` forces (``True``) or forbids (``False``) the
    one-command check; by default it is used on the bundled adapters and the protocol
    fallback on every other (where the token bucket is refused: it cannot hold its limit
    there). ``failure_log`` shares one log-once-per-burst state between limiters of one limit
    (the integrations keep one per limit). ``fallback="memory"`` decides again on this
    process's in-memory store when the cache cannot be asked (the limit keeps holding, per
    process; see :mod:`cache_bridge.ratelimit.memory_fallback`); ``None`` (default) leaves it
    to ``fail_open``. Configuration mistakes raise
    :class:`~cache_bridge.errors.ConfigurationError`. Several limits of one request are
    decided together by :func:`~cache_bridge.ratelimit.hit_all`.
    """

    _face = SyncCache
    cache: SyncCacheProtocol

    def hit(self, key: str, cost: int = 1) -> Decision:
        """Count one request of ``cost`` units (default 1) for ``key`` (a client IP, a user id,
        ...) and decide; never raises. A cost above the limit is refused without asking."""
        if not self.native:
            return drive(self.fallback(key, cost))
        op, state_key = self._one(key, cost)
        done = call((self.cache, op)) if isinstance(op, Op) else _failed(op)
        return self.decided(op, done, state_key, cost)


class AsyncRateLimiter(_Limiter):
    """The async twin of :class:`RateLimiter` (same arguments), over a
    :class:`~cache_bridge.protocol.CacheProtocol` adapter."""

    _face = AsyncCache
    cache: CacheProtocol

    async def hit(self, key: str, cost: int = 1) -> Decision:
        """Count one request of ``cost`` units for ``key`` and decide; never raises."""
        if not self.native:
            return await adrive(self.fallback(key, cost))
        op, state_key = self._one(key, cost)
        done = await acall((self.cache, op)) if isinstance(op, Op) else _failed(op)
        return self.decided(op, done, state_key, cost)
