"""One limit's policy (rate, algorithm, names, failure policy, clock) and how its outcomes
become :class:`~cache_bridge.ratelimit.Decision`\\ s; shared by both limiters and the group
check."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

from cache_bridge.engine.commands import LimitEntry
from cache_bridge.engine.limit_algorithms import ALGORITHMS, Reply
from cache_bridge.errors import (
    CacheError,
    CacheInvalidArgumentError,
    ConfigurationError,
    DomainError,
)
from cache_bridge.ratelimit.decision import Decision
from cache_bridge.ratelimit.memory_fallback import check_fallback
from cache_bridge.ratelimit.rate import Rate, parse_rate
from cache_bridge.ratelimit.reporting import report
from cache_bridge.resilience.outage_log import OutageLog

__all__ = ["LimitPolicy", "limit_log", "unexpected"]

logger = logging.getLogger("cache_bridge.ratelimit")

#: Caller keys longer than this are stored by their SHA-256 (keys stay under the key limit).
_LONGEST_PLAIN_KEY = 200
#: How each algorithm is written in state keys.
_SHORT = {"fixed-window": "fw", "sliding-window": "sw", "token-bucket": "tb"}


def limit_log(name: str) -> OutageLog:
    """The outage log of the rate limit ``name`` (on the ``cache_bridge.ratelimit`` logger);
    share one per limit across requests."""
    return OutageLog(f"rate limit {name!r}", log=logger)


#: What a limit does while its cache cannot be asked, by its ``fail_open`` policy.
_POLICY = {
    True: "allowing requests while its cache fails (FAIL_OPEN)",
    False: "denying requests while its cache fails (FAIL_OPEN is False)",
}
#: ... and with the in-memory fallback.
_FALLBACK = "deciding requests on this process's in-memory store while its cache fails (FALLBACK)"


def unexpected(exc: Exception) -> CacheError:
    """The error value for an adapter that raised despite the protocol."""
    return CacheError(
        f"unexpected {type(exc).__name__} from the adapter: {exc}",
        operation="rate_limit",
        cause=exc,
    )


class LimitPolicy:
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
        fallback: str | None = None,
    ) -> None:
        self.rate = parse_rate(rate)
        if algorithm not in ALGORITHMS:
            raise ConfigurationError(
                f"unknown rate-limit algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}"
            )
        if not isinstance(name, str) or not name:
            raise ConfigurationError("a rate limit's name must be a non-empty str")
        self.rate.check_algorithm(algorithm)
        self.algorithm = algorithm
        self.name = name
        self.prefix = prefix
        self.fail_open = bool(fail_open)
        #: ``"memory"``: decided again on the process's in-memory store when the cache
        #: cannot be asked (:mod:`cache_bridge.ratelimit.memory_fallback`); ``None``: not.
        self.fallback = check_fallback(fallback)
        self._consequence = _FALLBACK if self.fallback is not None else _POLICY[self.fail_open]
        self.clock = clock
        self.failure_log = failure_log or limit_log(name)
        # The limit's identity (rate and algorithm) is in its state key: two limits of one
        # name never read each other's state, and one name with one rate is one shared limit.
        # A fixed window on the store's clock has a state key of its own (``fc``): on Redis
        # its state is the count form (lua/rate_limit.lua), which a limiter given a clock,
        # or a version before it, must never read as a 'WINDOW COUNT' state (nor write one
        # it would read).
        short = "fc" if algorithm == "fixed-window" and clock is None else _SHORT[algorithm]
        self._stem = f"{prefix}:{name}:{self.rate}:{short}:"

    def storage_key(self, key: str) -> str:
        """``PREFIX:NAME:RATE:ALGORITHM:{KEY}``; the braces make the caller's key the Redis
        Cluster hash tag, so the limits of one client share a slot."""
        if len(key) > _LONGEST_PLAIN_KEY:
            key = "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
        return f"{self._stem}{{{key}}}"

    def now_ms(self, native: bool) -> int | None:
        """The caller's time for a check: the limiter's clock; without one, the store's own
        (``None``) on the native check and ``time.time`` on the protocol fallback."""
        clock = self.clock
        if clock is None:
            if native:  # the usual native check: the store's clock
                return None
            clock = time.time
        return math.floor(clock() * 1000)

    def entry(
        self, key: object, native: bool, cost: int = 1, mode: str = "hit"
    ) -> LimitEntry | CacheInvalidArgumentError:
        """This limit's part of a check for ``key`` (its state key not yet namespaced)."""
        if type(key) is not str:
            if not isinstance(key, str):
                return CacheInvalidArgumentError(
                    f"a rate-limit key must be a str, not {type(key).__name__}",
                    operation="rate_limit",
                )
            key = str.__str__(key)  # a plain copy, whatever a str subclass overrides
        return self.entry_at(self.storage_key(key), self.now_ms(native), cost, mode)

    def entry_at(
        self, state_key: str, now_ms: int | None, cost: int = 1, mode: str = "hit"
    ) -> LimitEntry:
        """This limit's part of a check of the state at ``state_key`` (time ``now_ms``)."""
        rate = self.rate
        return LimitEntry(state_key, self.algorithm, rate.limit, rate.period_ms, now_ms, cost, mode)

    def counted(self, receipt: tuple[str, int], cost: int = 1) -> LimitEntry:
        """What a decision's ``receipt`` (of ``cost`` units) counted, as a refund takes it
        back."""
        return self.entry_at(receipt[0], receipt[1], cost)

    def refused_cost(self, cost: object) -> Decision | None:
        """The refusal of a request whose ``cost`` cannot be counted (not an int of 0 or more:
        ``"bad-cost"``; more than the limit: ``"cost-exceeds-limit"``), decided without the
        cache; ``None`` for a cost the limit can count."""
        if type(cost) is int and 0 <= cost <= self.rate.limit:
            return None
        rate = self.rate
        bad = type(cost) is not int or cost < 0
        reason = "bad-cost" if bad else "cost-exceeds-limit"
        shown = cost if type(cost) is int else 1
        return Decision(False, rate.limit, 0, 0.0, 0.0, self.name, rate, cost=shown, reason=reason)

    def denied(self) -> Decision:
        """A refusal decided without asking the cache (a request the limit cannot tell
        apart: no usable client address under ``UNKNOWN_CLIENT = "deny"``)."""
        rate = self.rate
        period = float(rate.period)
        return Decision(False, rate.limit, 0, period, period, self.name, rate, reason="limit")

    def refusal(self, deny: object) -> Decision:
        """The refusal of a request whose key is a
        :class:`~cache_bridge.ratelimit.request_keys.Deny`: :meth:`denied`, or for
        ``UNAVAILABLE`` (its rate callable failed, and dynamic limits fail closed) a refusal
        that failed (503), with the error saying why."""
        refusal = (
            self.denied() if getattr(deny, "reason", "") != "unavailable" else self._unavailable()
        )
        report((refusal,))
        return refusal

    def _unavailable(self) -> Decision:
        rate = self.rate
        error = CacheError(
            f"the rate callable of limit {self.name!r} failed; the request is refused "
            "(DYNAMIC_FAIL_OPEN is False)",
            operation="rate_limit",
        )
        return Decision(
            False, rate.limit, 0, 0.0, 1.0, self.name, rate, error=error, reason="unavailable"
        )

    def decide(self, outcome: Reply | DomainError, entry: LimitEntry | None) -> Decision:
        """The decision for one limit's reply (``entry``: what was checked) or its error."""
        if entry is None:
            return self.decide_one(outcome, "")
        return self.decide_one(outcome, entry.key, entry.cost)

    def from_reply(
        self, reply: Reply, state_key: str, cost: int = 1, fallback: str | None = None
    ) -> Decision:
        """The decision of a store's ``reply`` (``fallback``: the fallback store that gave
        it, as :attr:`Decision.fallback`)."""
        allowed, remaining, reset_ms, retry_ms, counted, now_ms = reply
        rate = self.rate
        return Decision(
            bool(allowed),
            rate.limit,
            remaining,
            reset_ms / 1000,
            retry_ms / 1000,
            self.name,
            rate,
            None,
            (state_key, now_ms) if counted and state_key else None,
            cost,
            None if allowed else "limit",
            fallback,
        )

    def decide_one(self, outcome: Reply | DomainError, state_key: str, cost: int = 1) -> Decision:
        """The decision for one limit's reply on the state at ``state_key`` (a request of
        ``cost`` units), or its error."""
        if isinstance(outcome, tuple):
            self.failure_log.recovered()
            return self.from_reply(outcome, state_key, cost)
        if not isinstance(outcome, CacheInvalidArgumentError):
            # A bad key is the caller's mistake, not the cache failing: nothing to log.
            self.failure_log.failed(outcome, self._consequence)
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
            cost=cost,
            reason=None if self.fail_open else "unavailable",
        )
