"""What a group's checks are (:data:`Check`, over any :class:`Limited`), and the usual group:
checks that all run natively on one bundled adapter, decided by one operation without the
group's generator (:func:`one_command`, used by :func:`~cache_bridge.ratelimit.group.hit_all`
and ``ahit_all``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from returns.result import Failure, Result, Success

from cache_bridge.engine.commands import LimitEntry
from cache_bridge.engine.keys import KeySpace
from cache_bridge.engine.limit_algorithms import Reply
from cache_bridge.engine.operations import Op
from cache_bridge.errors import DomainError
from cache_bridge.observability import events
from cache_bridge.ratelimit.decision import Decision
from cache_bridge.ratelimit.memory_fallback import from_memory
from cache_bridge.ratelimit.policy import LimitPolicy, unexpected
from cache_bridge.ratelimit.reporting import report
from cache_bridge.ratelimit.steps import rate_limit_hits

__all__ = ["Check", "Limited", "OneCommand", "keyspace", "one_command", "unpack"]


class Limited(Protocol):
    """What the group needs of a limiter (both :class:`~cache_bridge.ratelimit.RateLimiter`
    and :class:`~cache_bridge.ratelimit.AsyncRateLimiter` are)."""

    cache: Any
    policy: LimitPolicy
    native: bool

    def hit(self, key: str) -> Any: ...


def keyspace(cache: Any) -> KeySpace:
    """The namespace of a bundled face (its ``keyspace``), or one built from ``key_prefix``."""
    found = getattr(cache, "keyspace", None)
    return found if isinstance(found, KeySpace) else KeySpace(getattr(cache, "key_prefix", None))


#: One check of a group: ``(limiter, key)``, ``(limiter, key, cost)`` or ``(limiter, key, cost,
#: mode)`` (``mode``: ``"hit"``, ``"peek"`` or ``"force"``, as
#: :class:`~cache_bridge.engine.commands.LimitEntry`).
Check = tuple[Limited, str] | tuple[Limited, str, int] | tuple[Limited, str, int, str]


def unpack(check: Check) -> tuple[Limited, str, Any, str]:
    if len(check) == 2:
        return check[0], check[1], 1, "hit"
    if len(check) == 3:
        return check[0], check[1], check[2], "hit"
    return check[0], check[1], check[2], check[3]


class OneCommand:
    """A group whose checks all run on one bundled adapter (the usual case in both
    frameworks): its one operation, run without the group's generator, and how its Result
    becomes the decisions. Per limit it keeps the entry the command sends (its key in the
    adapter's namespace) and the state key its decision names; the entries a fallback store
    needs (keys outside the namespace) are built only when it is asked."""

    __slots__ = ("cache", "limiters", "modes", "state_keys", "stored")

    def __init__(
        self,
        cache: Any,
        limiters: list[Limited],
        state_keys: list[str],
        stored: tuple[LimitEntry, ...],
        modes: list[str],
    ) -> None:
        self.cache, self.limiters, self.state_keys = cache, limiters, state_keys
        self.stored, self.modes = stored, modes

    @property
    def pair(self) -> tuple[Any, Op[list[Reply]]]:
        """The operation to run, on its adapter (a new one each time: an operation runs
        once)."""
        return self.cache, rate_limit_hits(None, self.stored)

    def decided(self, result: Result[Any, DomainError]) -> list[Decision]:
        """The decisions of the operation's Result (one command: all or nothing already)."""
        replies: Sequence[Reply | DomainError]
        if isinstance(result, Success):
            replies = result.unwrap()
        else:
            error = (
                result.failure()
                if isinstance(result, Failure)
                else unexpected(TypeError(f"not a Result: {result!r}"))
            )
            replies = [error] * len(self.stored)
        decisions = [
            limiter.policy.decide_one(reply, state_key, entry.cost)
            for limiter, reply, state_key, entry in zip(
                self.limiters, replies, self.state_keys, self.stored, strict=True
            )
        ]
        if not isinstance(result, Success):  # the in-memory fallback, if any
            policies = [limiter.policy for limiter in self.limiters]
            entries = [
                policy.entry_at(key, e.now_ms, e.cost, e.mode)
                for policy, key, e in zip(policies, self.state_keys, self.stored, strict=True)
            ]
            decisions = from_memory(policies, entries, decisions)
        if events.listeners:  # nothing built while no one listens
            report(decisions, self.modes)
        return decisions


def one_command(checks: Sequence[Check]) -> OneCommand | None:
    """The group as one operation when every check runs natively on one adapter with a key
    and cost it can count; ``None`` otherwise (the general :func:`group` decides)."""
    if not checks:
        return None
    cache = checks[0][0].cache
    ns = keyspace(cache)
    limiters: list[Limited] = []
    state_keys: list[str] = []
    stored: list[LimitEntry] = []
    modes: list[str] = []
    for check in checks:
        limiter, key, cost, mode = unpack(check)
        if limiter.cache is not cache or not limiter.native:
            return None
        policy = limiter.policy
        try:
            if (type(cost) is not int or cost != 1) and policy.refused_cost(cost) is not None:
                return None
            if type(key) is not str:
                entry = policy.entry(key, True, cost, mode)  # checks it (a str subclass: a copy)
                if not isinstance(entry, LimitEntry):
                    return None
                state_key = entry.key
            else:
                state_key = policy.storage_key(key)
            stored.append(policy.entry_at(ns.key(state_key), policy.now_ms(True), cost, mode))
        except Exception:  # a bad key or a hostile clock: the general path decides it alone
            return None
        limiters.append(limiter)
        state_keys.append(state_key)
        modes.append(mode)
    return OneCommand(cache, limiters, state_keys, tuple(stored), modes)
