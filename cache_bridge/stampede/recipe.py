"""Get-or-compute with stampede protection, written once for both faces: a generator that
yields effects (run an operation, compute, pause, share a value with the process's other
callers) and receives their outcomes; it returns the value and a :class:`Report` of how the
call ended. :mod:`cache_bridge.stampede.runners` runs it on a blocking face (threads) or an
async face (tasks).

What it does with the entry it reads (see ``docs/stampede.md``):

- fresh, and no early refresh drawn: return it;
- stale (past its fresh time, before its hard expiry) or an early refresh drawn: try the lock
  once; the winner shares the old value with its process's waiters, recomputes and stores; a
  loser returns the old value at once;
- a value without the envelope that the codec reads (written by a plain ``set``): an existing
  value wins, it is returned as fresh (never recomputed nor overwritten);
- missing (or unreadable): take the lock, or wait for its holder's value, looking again every
  ``poll`` seconds; a lock whose holder died expires after ``lock_ttl`` and the next waiter
  takes it; ``wait`` seconds after the call began (one deadline, the process's single-flight
  wait included) a waiter computes without it;
- the holder's computation raised or its value is not stored: it leaves "nothing to wait for"
  under the lock key for a short while (:data:`NO_WAIT`), and the waiters of every process
  compute at once instead of queuing for the lock one after another;
- the cache fails (down, circuit open): compute, without a lock or a wait (fail open).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Protocol

from returns.result import Failure, Result, Success

from cache_bridge.engine import bytes_operations as bytes_ops
from cache_bridge.engine import lock_operations as lock_ops
from cache_bridge.engine.keys import KeySpace
from cache_bridge.engine.operations import Op
from cache_bridge.errors import ConfigurationError, DomainError
from cache_bridge.stampede.envelope import MARKER, Envelope, unwrap, wrap
from cache_bridge.stampede.settings import StampedeSettings
from cache_bridge.values import MISSING

__all__ = ["Compute", "Pause", "Recipe", "Report", "Run", "Share", "StampedeCall", "ValueFormat"]

logger = logging.getLogger("cache_bridge.stampede")

#: Appended to a key to name the lock that guards its computation.
LOCK_SUFFIX = ":stampede-lock"
#: What a holder whose computation raised (or whose value is not stored) leaves under the lock
#: key: a lock token no caller draws (so it is kept like a lock), meaning "nothing to wait for".
NO_WAIT = lock_ops.LOCK_MARKER + b"0" * 32


class ValueFormat(Protocol):
    """How values become bytes and back (the core :class:`~cache_bridge.values.ValueCodec`,
    a framework's codec): ``loads`` returns :data:`~cache_bridge.values.MISSING` for bytes it
    cannot read.

    Optional, looked up on the codec: ``flight_tag`` (hashable), part of the single-flight key,
    so that callers whose codec reads different entries (another generation) never share a
    computation; ``waiter_copy(key, value)``, what each single-flight waiter gets instead of
    the leader's object (e.g. its own copy)."""

    def dumps(self, key: str, value: Any) -> bytes: ...

    def loads(self, key: str, data: bytes) -> Any: ...


@dataclass(frozen=True, slots=True)
class Run:
    """Run ``op`` on the face; the reply is its Result."""

    op: Op[Any]


@dataclass(frozen=True, slots=True)
class Compute:
    """Call the computation; the reply is its value (its exception is thrown in)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """Sleep ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Share:
    """Hand ``value`` to this process's callers waiting on the same key, now; ``detach``:
    return it to this caller too, and run the rest of the recipe in the background."""

    value: Any
    detach: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """How a call ended (one of ``STAMPEDE_OUTCOMES`` in
    :mod:`cache_bridge.observability.events`), with the computation's seconds if this caller
    computed: returned by the recipe with the value (not yielded: a fresh read costs no step
    more), told to the listeners by the runner if any listen."""

    outcome: str
    compute_seconds: float | None = None


# The reports without a computation, made once (the fresh one is on every cache hit).
_FRESH, _STALE, _WAITED = Report("fresh"), Report("stale"), Report("waited")

Effect = Run | Compute | Pause | Share
#: Yields effects, returns ``(value, Report)`` (its helpers return what they say).
Recipe = Generator[Effect, Any, Any]


@dataclass(frozen=True, slots=True)
class StampedeCall:
    """One get-or-compute: where, what, for how long (``ttl`` seconds fresh, ``None``: for
    ever) and how."""

    ns: KeySpace
    key: str
    ttl: float | None
    settings: StampedeSettings
    codec: ValueFormat
    #: When waiting ends (``perf_counter`` seconds; ``None``: ``wait`` from the first wait).
    deadline: float | None = None

    @property
    def full_key(self) -> str:
        """The key as stored (raises InvalidArgument for a key no store takes)."""
        return self.ns.key(self.key)

    @property
    def lock_key(self) -> str:
        """The lock's key (not namespaced yet)."""
        return self.key + LOCK_SUFFIX

    @property
    def flight_key(self) -> tuple[str, Any]:
        """What callers of one process must share to share a computation."""
        return self.full_key, getattr(self.codec, "flight_tag", None)

    def steps(self) -> Recipe:
        """The recipe's effects for this call."""
        return _get_or_compute(self)


def _ok(result: Result[Any, DomainError]) -> tuple[bool, Any]:
    match result:
        case Success(value):
            return True, value
        case Failure(_):
            return False, None
    raise AssertionError("unreachable")  # pragma: no cover


def _early(envelope: Envelope, now: float, settings: StampedeSettings) -> bool:
    """XFetch: recompute before the fresh time with a probability that grows as it nears."""
    if settings.early <= 0 or envelope.fresh_until is None:
        return False
    draw = 1.0 - settings.random()  # (0, 1]: log is defined
    return now - envelope.compute_time * settings.early * math.log(draw) >= envelope.fresh_until


def _read(call: StampedeCall) -> Generator[Effect, Any, tuple[bool, Envelope | None, Any]]:
    """(whether the cache answered, the envelope, its value or MISSING)."""
    answered, data = _ok((yield Run(bytes_ops.get_bytes(call.ns, call.key))))
    if not isinstance(data, bytes):
        return answered, None, MISSING
    envelope = unwrap(data)
    if envelope is None:
        if data.startswith(MARKER):  # another version's envelope: not ours to read
            return answered, None, MISSING
        # A plain value (a write-through ``set``): an existing value wins, fresh for ever.
        envelope = Envelope(data, None, None, 0.0)
    value = call.codec.loads(call.full_key, envelope.payload)
    return answered, (None if value is MISSING else envelope), value


def _stored_form(call: StampedeCall, value: Any, took: float) -> tuple[bytes, int | None] | None:
    """The envelope of ``value`` and its expiry in milliseconds, or ``None`` (logged) when
    the codec cannot write it: the caller still gets its value (fail open), unstored. A
    configuration mistake (no signing secret) raises."""
    now = call.settings.clock()
    fresh = None if call.ttl is None else now + call.ttl
    stale = None if fresh is None else fresh + call.settings.stale_ttl
    try:
        payload = call.codec.dumps(call.full_key, value)
    except ConfigurationError:
        raise
    except Exception as exc:
        logger.warning(
            "cache_bridge: %s is not stored: the codec cannot write it (%s)", call.key, exc
        )
        return None
    ttl_ms = None if stale is None else max(1, round((stale - now) * 1000))
    return wrap(Envelope(payload, fresh, stale, took)), ttl_ms


def _compute(call: StampedeCall, store: bool, outcome: str) -> Recipe:
    """Compute the value and (``store``) store it in its envelope: ``(value, Report)``."""
    value, report, _ = yield from _compute_stored(call, store, outcome)
    return value, report


def _compute_stored(call: StampedeCall, store: bool, outcome: str) -> Recipe:
    """:func:`_compute`: ``(value, Report, whether it was stored)``."""
    started = perf_counter()
    value = yield Compute()
    took = perf_counter() - started
    yield Share(value)  # this process's waiters need not wait for the store
    stored = _stored_form(call, value, took) if store else None
    if stored is not None:
        yield Run(bytes_ops.set_bytes(call.ns, call.key, *stored))
    return value, Report(outcome, took), stored is not None


def _no_wait_ms(settings: StampedeSettings) -> int:
    """How long "nothing to wait for" stays: ten polls (at least 0.2 s), at most lock_ttl."""
    return max(1, round(min(settings.lock_ttl, max(0.2, 10 * settings.poll)) * 1000))


def _nothing_to_wait_for(call: StampedeCall) -> Generator[Effect, Any, bool]:
    """Whether the lock key says the last holder's computation raised or was not stored."""
    answered, marked = _ok((yield Run(lock_ops.lock_owned(call.ns, call.lock_key, NO_WAIT))))
    return answered and bool(marked)


def _locked_compute(
    call: StampedeCall, token: bytes, outcome: str, recheck: Report | None = None
) -> Recipe:
    """Under the lock: (``recheck``: what to report if it is there) look once more, since the
    holder before us may just have stored the value, else compute and store (report
    ``outcome``); the lock is given back whatever happens (but for an abandoned recipe, e.g.
    a cancelled task: then it expires after ``lock_ttl``). A computation that raised, or a
    value not stored, leaves :data:`NO_WAIT` in the lock's place instead, for a short while:
    the waiters compute at once rather than one after another. ``(value, Report)``."""
    release = Run(lock_ops.release_lock(call.ns, call.lock_key, token))
    no_wait = Run(bytes_ops.set_bytes(call.ns, call.lock_key, NO_WAIT, _no_wait_ms(call.settings)))
    stored = True
    try:
        value = MISSING
        if recheck is not None:
            _, envelope, value = yield from _read(call)
            now = call.settings.clock()
            if envelope is None or not envelope.fresh(now):
                value = MISSING
        if value is MISSING:
            value, report, stored = yield from _compute_stored(call, True, outcome)
            ending = value, report
        else:
            ending = value, recheck
    except GeneratorExit:
        raise  # closed unfinished: nothing may run now
    except Exception:
        yield no_wait
        raise
    except BaseException:  # cancelled, interrupted: the next caller takes the lock
        yield release
        raise
    yield release if stored else no_wait
    return ending


def _try_lock(call: StampedeCall, token: bytes) -> Generator[Effect, Any, bool | None]:
    """Whether the lock was taken (``None``: the cache failed)."""
    ttl_ms = max(1, round(call.settings.lock_ttl * 1000))
    answered, taken = _ok((yield Run(lock_ops.take_lock(call.ns, call.lock_key, token, ttl_ms))))
    return bool(taken) if answered else None


def _refresh(call: StampedeCall, value: Any, token: bytes, stale: bool) -> Recipe:
    """A stale (or early-refresh) value: one caller recomputes, the others serve it;
    ``(value, Report)``."""
    outcome = "refresh" if stale else "early"
    if not call.settings.lock:
        yield Share(value, call.settings.background)
        return (yield from _compute(call, store=True, outcome=outcome))
    if not (yield from _try_lock(call, token)):
        # another holds the lock (or the cache fails): serve what we have
        return value, _STALE if stale else _FRESH
    yield Share(value, call.settings.background)
    return (yield from _locked_compute(call, token, outcome))


def _get_or_compute(call: StampedeCall) -> Recipe:
    settings = call.settings
    token = lock_ops.new_token()
    deadline = call.deadline
    while True:
        answered, envelope, value = yield from _read(call)
        if not answered:
            return (yield from _compute(call, store=False, outcome="fail_open"))
        now = settings.clock()
        if value is not MISSING and envelope is not None and envelope.usable(now):
            fresh = envelope.fresh(now)
            if fresh and not _early(envelope, now, settings):
                return value, _FRESH if deadline is None else _WAITED
            return (yield from _refresh(call, value, token, stale=not fresh))
        if not settings.lock:
            return (yield from _compute(call, store=True, outcome="computed"))
        taken = yield from _try_lock(call, token)
        if taken is None:
            return (yield from _compute(call, store=False, outcome="fail_open"))
        if taken:
            recheck = _FRESH if deadline is None else _WAITED
            return (yield from _locked_compute(call, token, "computed", recheck))
        # The wait is measured on the monotonic clock: an injected or stepped wall clock must
        # not make it endless.
        waited = perf_counter()
        deadline = waited + settings.max_wait if deadline is None else deadline
        if waited >= deadline or (yield from _nothing_to_wait_for(call)):
            return (yield from _compute(call, store=True, outcome="waited_out"))
        yield Pause(settings.poll * (0.5 + settings.random()))
