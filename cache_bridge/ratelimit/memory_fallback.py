"""The in-memory fallback (``fallback="memory"``): limits that keep holding, per process, while
their cache cannot be asked.

When a check (or a group of checks) fails because the cache could not be asked, the limits
that have the fallback are decided again, all or nothing, by the same limits (name, rate,
algorithm, key, cost, mode) on one bounded in-memory store shared by every fallback of the
process (the memory adapter's one-command check). Such a decision has ``error=None`` (its
numbers are real: the process's own count) and ``fallback="memory"``; what it counted is
taken back on the same store by a refund. When the cache answers again, decisions go back to
it and the in-memory counts are abandoned: a client may get up to its limit in each store,
and N processes allow up to N times the limit during an outage.

Nothing here runs while the cache answers: the limiters call in only for a failed decision.
The store is in-process and never blocks, so the async face calls it directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final

from returns.result import Success

from cache_bridge.config import did_you_mean
from cache_bridge.engine.commands import LimitEntry
from cache_bridge.engine.keys import KeySpace
from cache_bridge.errors import CacheInvalidArgumentError, ConfigurationError
from cache_bridge.factory import create_sync_cache
from cache_bridge.ratelimit.decision import Decision
from cache_bridge.ratelimit.steps import rate_limit_hits, rate_limit_refund

__all__ = [
    "FALLBACKS",
    "MAX_FALLBACK_ENTRIES",
    "check_fallback",
    "fails_over",
    "fallback_store",
    "from_memory",
    "refund_in_memory",
    "reset_fallback_store",
]

#: The fallbacks a limit may have (``None``: none, the failure policy decides alone).
FALLBACKS: Final = ("memory",)
#: How many limit states the process's fallback store keeps (least recently used forgotten
#: first: a forgotten client starts a new count, so the bound can only allow more).
MAX_FALLBACK_ENTRIES: Final = 100_000

_NO_PREFIX: Final = KeySpace(None)
_store: list[Any] = []  # the one store of the process, made on the first outage


def check_fallback(fallback: object, label: str = "fallback") -> str | None:
    """``fallback`` if it is ``None`` or one of :data:`FALLBACKS` (``label``: how the caller
    names it); raises :class:`~cache_bridge.errors.ConfigurationError` otherwise."""
    if fallback is None or fallback in FALLBACKS:
        return fallback
    hint = did_you_mean(str(fallback), FALLBACKS) if isinstance(fallback, str) else ""
    raise ConfigurationError(
        f"{label} {fallback!r} is not a rate-limit fallback: use None (the failure policy "
        f"alone) or 'memory'.{hint}"
    )


def fallback_store() -> Any:
    """The process's fallback store: one blocking in-memory face (``memory://``, at most
    :data:`MAX_FALLBACK_ENTRIES` states), made on first use."""
    if not _store:
        _store.append(create_sync_cache("memory://", max_entries=MAX_FALLBACK_ENTRIES))
    return _store[0]


def reset_fallback_store() -> None:
    """Forget the process's fallback store and every count in it (the next outage starts a
    new one): for tests, and for a process that wants to start its outage counts afresh."""
    _store.clear()


def fails_over(decision: Decision) -> bool:
    """Whether ``decision`` failed because its cache could not be asked (not a bad key)."""
    return decision.error is not None and not isinstance(decision.error, CacheInvalidArgumentError)


def from_memory(
    policies: Sequence[Any], entries: Sequence[LimitEntry | None], decisions: list[Decision]
) -> list[Decision]:
    """``decisions`` with each one that failed for its cache, checked by ``entries[i]`` under a
    policy with the fallback, decided again on the fallback store, all together; if any
    decision of the list then refuses, what the store counted is taken back (a refused request
    costs no limit). Failed decisions stay as they were if the store fails too."""
    positions = [
        i
        for i, (policy, entry, decision) in enumerate(
            zip(policies, entries, decisions, strict=True)
        )
        if entry is not None and policy.fallback is not None and fails_over(decision)
    ]
    if not positions:
        return decisions
    store = fallback_store()
    limits = tuple(e for e in (entries[i] for i in positions) if e is not None)
    done = store.run_operation(rate_limit_hits(_NO_PREFIX, limits))
    if not isinstance(done, Success):
        return decisions
    decided = list(decisions)
    for i, reply in zip(positions, done.unwrap(), strict=True):
        entry = entries[i]
        if entry is not None:
            decided[i] = policies[i].from_reply(reply, entry.key, entry.cost, "memory")
    if any(not d.allowed for d in decided):
        counted = [(policies[i], decided[i]) for i in positions if decided[i].counted]
        if counted:
            refund_in_memory(counted)
            for i in positions:
                d = decided[i]
                if d.counted:
                    decided[i] = dataclasses.replace(
                        d, remaining=d.remaining + d.cost, receipt=None
                    )
    return decided


def refund_in_memory(pairs: Sequence[tuple[Any, Decision]]) -> None:
    """Take back on the fallback store what each fallback decision (with its policy)
    counted. Best effort."""
    limits = tuple(
        policy.counted(d.receipt, d.cost) for policy, d in pairs if d.receipt is not None
    )
    if limits:
        fallback_store().run_operation(rate_limit_refund(_NO_PREFIX, limits))
