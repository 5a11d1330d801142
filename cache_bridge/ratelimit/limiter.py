"""The limiters: :class:`RateLimiter` (blocking) and :class:`AsyncRateLimiter`, one policy each.

Both run the same check (:mod:`cache_bridge.ratelimit.steps`) and never raise: when the cache
cannot be asked, the decision follows the limit's failure policy (fail open: allowed; fail
closed: denied) and carries the error, and the failure is logged once per burst of failures.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from returns.result import Failure, Success

from cache_bridge.errors import (
    CacheError,
    CacheInvalidArgumentError,
    ConfigurationError,
    DomainError,
)
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.failure_log import OutageLog
from cache_bridge.keys import KeySpace
from cache_bridge.limit_state import ALGORITHMS, Outcome
from cache_bridge.operations import Op
from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol
from cache_bridge.ratelimit.decision import Decision
from cache_bridge.ratelimit.rate import Rate, parse_rate
from cache_bridge.ratelimit.steps import (
    Call,
    Check,
    StepFailed,
    fallback_check,
    native_check,
    rate_limit_hit,
)

__all__ = ["AsyncRateLimiter", "RateLimiter", "limit_log"]

logger = logging.getLogger("cache_bridge.ratelimit")

#: Caller keys longer than this are stored by their SHA-256 (keys stay under the key limit).
_LONGEST_PLAIN_KEY = 200


def limit_log(name: str) -> OutageLog:
    """The outage log of the rate limit ``name`` (on the ``cache_bridge.ratelimit`` logger);
    share one per limit across requests."""
    return OutageLog(f"rate limit {name!r}", log=logger)


#: What a limit does while its cache cannot be asked, by its ``fail_open`` policy.
_POLICY = {
    True: "allowing requests while its cache fails (FAIL_OPEN)",
    False: "denying requests while its cache fails (FAIL_OPEN is False)",
}


class _Limit:
    """The policy both limiters share: rate, algorithm, names, failure policy, clock."""

    def __init__(
        self,
        rate: str | Rate,
        *,
        algorithm: str,
        name: str,
        prefix: str,
        fail_open: bool,
        clock: Callable[[], float] | None,
        failure_log: OutageLog | None,
    ) -> None:
        self.rate = parse_rate(rate)
        if algorithm not in ALGORITHMS:
            raise ConfigurationError(
                f"unknown rate-limit algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}"
            )
        if not isinstance(name, str) or not name:
            raise ConfigurationError("a rate limit's name must be a non-empty str")
        self.algorithm = algorithm
        self.name = name
        self.prefix = prefix
        self.fail_open = bool(fail_open)
        self.clock = clock
        self.failure_log = failure_log or limit_log(name)

    def storage_key(self, key: str) -> str:
        if len(key) > _LONGEST_PLAIN_KEY:
            key = "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
        return f"{self.prefix}:{self.name}:{key}"

    def check(self, key: str, ns: KeySpace | None) -> Check:
        """The check's steps: one native operation in ``ns``, or (``None``) the fallback."""
        full = self.storage_key(key)
        rate = self.rate
        if ns is not None:
            now = None if self.clock is None else math.floor(self.clock() * 1000)
            return native_check(
                ns,
                full,
                algorithm=self.algorithm,
                limit=rate.limit,
                period_ms=rate.period_ms,
                now_ms=now,
            )
        now_ms = math.floor((self.clock or time.time)() * 1000)
        return fallback_check(full, self.algorithm, rate.limit, rate.period_ms, now_ms)

    def native_op(self, key: str, ns: KeySpace) -> Op[Outcome]:
        """The check as the one operation :func:`native_check` would yield, to run directly."""
        rate = self.rate
        now = None if self.clock is None else math.floor(self.clock() * 1000)
        return rate_limit_hit(
            ns,
            self.storage_key(key),
            algorithm=self.algorithm,
            limit=rate.limit,
            period_ms=rate.period_ms,
            now_ms=now,
        )

    def decide(self, outcome: Outcome | DomainError) -> Decision:
        if isinstance(outcome, Outcome):
            self.failure_log.recovered()
            return Decision(
                allowed=outcome.allowed,
                limit=self.rate.limit,
                remaining=outcome.remaining,
                reset_after=outcome.reset_ms / 1000,
                retry_after=outcome.retry_ms / 1000,
                name=self.name,
                rate=self.rate,
            )
        if not isinstance(outcome, CacheInvalidArgumentError):
            # A bad key is the caller's mistake, not the cache failing: nothing to log.
            self.failure_log.failed(outcome, _POLICY[self.fail_open])
        error = (
            outcome
            if isinstance(outcome, CacheError)
            else CacheError(str(outcome), operation="rate_limit", cause=outcome)
        )
        return Decision(
            allowed=self.fail_open,
            limit=self.rate.limit,
            remaining=0,
            reset_after=0.0,
            retry_after=0.0 if self.fail_open else 1.0,
            name=self.name,
            rate=self.rate,
            error=error,
        )


def _keyspace(cache: Any) -> KeySpace:
    found = getattr(cache, "keyspace", None)  # the faces have one
    return found if isinstance(found, KeySpace) else KeySpace(getattr(cache, "key_prefix", None))


def _bad_key(key: object) -> CacheInvalidArgumentError | None:
    if isinstance(key, str):
        return None
    return CacheInvalidArgumentError(
        f"a rate-limit key must be a str, not {type(key).__name__}", operation="rate_limit"
    )


def _outcome(result: object) -> Outcome | DomainError:
    """What a native check's Result holds (what :func:`native_check` would return or fail with)."""
    if isinstance(result, Success):
        outcome: Outcome = result.unwrap()
        return outcome
    if isinstance(result, Failure):
        error: DomainError = result.failure()
        return error
    return CacheError(f"not a Result: {result!r}", operation="rate_limit")


def _unexpected(exc: Exception) -> CacheError:
    return CacheError(
        f"unexpected {type(exc).__name__} from the adapter: {exc}",
        operation="rate_limit",
        cause=exc,
    )


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
    ) -> None:
        self.cache = cache
        self.policy = _Limit(
            rate,
            algorithm=algorithm,
            name=name,
            prefix=prefix,
            fail_open=fail_open,
            clock=clock,
            failure_log=failure_log,
        )
        self._native = isinstance(cache, self._face) if native is None else native

    @property
    def rate(self) -> Rate:
        return self.policy.rate


class RateLimiter(_Limiter):
    """A blocking limiter over a :class:`~cache_bridge.protocol.SyncCacheProtocol` adapter.

    ``rate`` is a string (``"100/m"``, ``"20/10s"``) or a :class:`Rate`; ``algorithm`` one of
    ``"fixed-window"`` (default), ``"sliding-window"``, ``"token-bucket"``. State lives at
    ``PREFIX:NAME:KEY`` in the adapter's namespace. ``fail_open`` (default ``True``) allows
    requests when the cache cannot be asked; ``False`` denies them. ``clock`` (seconds) gives
    the time to the check; without one the store's own clock decides (Redis: ``TIME``), except
    on adapters that only implement the protocol, which use ``time.time``. ``native`` forces
    (``True``) or forbids (``False``) the one-command check; by default it is used on the
    bundled adapters and the protocol fallback on every other. ``failure_log`` shares one
    log-once-per-burst state between limiters of one limit (the integrations keep one per
    limit). Configuration mistakes raise :class:`~cache_bridge.errors.ConfigurationError`.
    """

    _face = SyncCache
    cache: SyncCacheProtocol

    def hit(self, key: str) -> Decision:
        """Count one request for ``key`` (a client IP, a user id, ...) and decide; never raises."""
        return self.policy.decide(self._run(key))

    def _run(self, key: str) -> Outcome | DomainError:
        cache: Any = self.cache
        bad = _bad_key(key)
        if bad is not None:
            return bad
        try:
            if self._native:  # one operation: run it without the steps' generator
                return _outcome(cache.run_operation(self.policy.native_op(key, _keyspace(cache))))
            steps = self.policy.check(key, None)
            step = next(steps)
            while True:
                if isinstance(step, Call):
                    result = getattr(cache, step.method)(*step.args)
                else:
                    result = cache.run_operation(step)
                step = steps.send(result)
        except StopIteration as done:
            outcome: Outcome = done.value
            return outcome
        except StepFailed as failed:
            return failed.error
        except Exception as exc:
            return _unexpected(exc)


class AsyncRateLimiter(_Limiter):
    """The async twin of :class:`RateLimiter` (same arguments), over a
    :class:`~cache_bridge.protocol.CacheProtocol` adapter."""

    _face = AsyncCache
    cache: CacheProtocol

    async def hit(self, key: str) -> Decision:
        """Count one request for ``key`` and decide; never raises."""
        return self.policy.decide(await self._run(key))

    async def _run(self, key: str) -> Outcome | DomainError:
        cache: Any = self.cache
        bad = _bad_key(key)
        if bad is not None:
            return bad
        try:
            if self._native:  # one operation: run it without the steps' generator
                native = self.policy.native_op(key, _keyspace(cache))
                return _outcome(await cache.run_operation(native))
            steps = self.policy.check(key, None)
            step = next(steps)
            while True:
                if isinstance(step, Call):
                    result = await getattr(cache, step.method)(*step.args)
                else:
                    op: Op[Any] = step
                    result = await cache.run_operation(op)
                step = steps.send(result)
        except StopIteration as done:
            outcome: Outcome = done.value
            return outcome
        except StepFailed as failed:
            return failed.error
        except Exception as exc:
            return _unexpected(exc)
