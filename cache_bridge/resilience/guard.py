"""What stands between a network adapter's faces and its connections: the circuit breaker,
its background probe and the outage log, one set per server configuration in a process.

Faces call :meth:`Guard.admit` before an operation and :meth:`Guard.settle` after it; both are
cheap while the server answers. Every adapter of one configuration (the blocking and the async
face of a URL with the same options, whatever their key prefixes: a Django alias's two, a
Flask app's two) shares one guard (:func:`shared_guard`), so what one face learns about an
outage, the other knows: a process pays one failed call per outage, not one per face.

While the breaker is open, a thread of the guard probes the server with a blocking ``ping``
on a connection of its own (see :mod:`cache_bridge.resilience.breaker` for when), and closes the
breaker when the server answers. The thread runs only while the breaker is open and calls
keep coming: it stops after :data:`IDLE_STOP` seconds without one, and then the first call
goes to the server itself, as the probe (and starts the thread again), so no call is refused
on what the breaker learned before a quiet time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from returns.result import Failure, Result, Success

from cache_bridge.engine.operations import Op
from cache_bridge.errors import (
    CacheConnectionError,
    CachePoolExhaustedError,
    CacheSerializationError,
    CacheServerError,
    CacheUnavailableError,
    CacheValueError,
    DomainError,
)
from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.resilience.outage_log import LOG_INTERVAL, OutageLog, is_outage, logger

__all__ = [
    "IDLE_STOP",
    "LOG_INTERVAL",
    "Guard",
    "Prober",
    "mark_counted",
    "mark_incident",
    "shared_guard",
]

#: Seconds without a refused call after which an open breaker's probe thread stops (the next
#: call then goes to the server as the probe).
IDLE_STOP = 60.0

# The server answered, even if with an error: the connection works.
_ANSWERED = (CacheServerError, CacheValueError, CacheSerializationError)
# Connection errors that say nothing about the server: the breaker's own refusal, a full pool.
_NOT_THE_SERVER = (CacheUnavailableError, CachePoolExhaustedError)


_INCIDENT = "_cache_bridge_incident"
_COUNTED = "_cache_bridge_counted"


def mark_incident(exc: BaseException, incident: object) -> None:
    """Say that ``exc`` is one of several failures with one cause (one dropped round trip that
    carried many calls): the breaker counts the incident once, not each call."""
    setattr(exc, _INCIDENT, incident)


def mark_counted(exc: BaseException) -> None:
    """Say that a finer breaker (a Redis Cluster node's) has counted ``exc``: the breaker of
    the adapter's guard does not count it again."""
    setattr(exc, _COUNTED, True)


def answered(result: Result[Any, DomainError]) -> bool:
    """Whether the server answered (a Success, or an error reply)."""
    return isinstance(result, Success) or isinstance(result.failure(), _ANSWERED)


class Prober(Protocol):
    """What the guard probes the server with: a blocking ping on connections of its own that
    passes no breaker and writes no log."""

    def probe(self) -> Result[Any, DomainError]: ...

    def close(self) -> None: ...


class Guard:
    """One server configuration's breaker (``None``: calls always go through), the probe that
    closes it, and the outage log. ``make_prober`` builds the probe's blocking face (on the
    probe thread, when first needed); it is required with a breaker."""

    def __init__(
        self,
        description: str,
        breaker: CircuitBreaker | None,
        log: logging.Logger = logger,
        log_interval: float = LOG_INTERVAL,
        *,
        make_prober: Callable[[], Prober] | None = None,
        idle_stop: float = IDLE_STOP,
    ) -> None:
        if breaker is not None and make_prober is None:
            raise ValueError("a guard with a breaker needs make_prober")
        self.description = description
        self.breaker = breaker
        self._log = log
        self._failures = OutageLog(description, log=log, interval=log_interval)
        self._make_prober = make_prober
        #: Seconds without a refused call after which the probe thread stops (tests shorten it).
        self.idle_stop = idle_stop
        self._idled = False  # the probe thread stopped for want of calls (see admit)
        self._last_incident: object = None
        self._lock = threading.Lock()
        self._probing = False  # a probe thread runs (or is starting)
        self._stopped = threading.Event()
        self._last_asked = 0.0
        self._adapters = 0  # how many adapters share it (see shared_guard)

    def admit(self, op: Op[Any]) -> Failure[DomainError] | None:
        """``None`` if ``op`` may run now; else the Failure to return at once (the operation
        is closed: it never reaches a socket). Health checks (``ping``) always run."""
        breaker = self.breaker
        if breaker is None or breaker.allow(force=op.health_check):
            return None
        if not self._refuses():
            return None  # the first call after a quiet time is the probe
        op.steps.close()
        return Failure(CacheUnavailableError(breaker.why_open(), operation=op.name, key=op.key))

    def allows(self) -> bool:
        """Like :meth:`admit`, for a call that is not an operation (a cluster node's part of
        one): whether it may go to the server now."""
        breaker = self.breaker
        return breaker is None or breaker.allow() or not self._refuses()

    def _refuses(self) -> bool:
        """The breaker is open: ``True`` to refuse the call (the probe runs while calls keep
        coming); ``False`` for the first call after a quiet time, which is the probe."""
        if self._idled and self._wake():
            return False
        self._last_asked = time.monotonic()
        if not self._probing:
            self._ensure_probing()
        return True

    def settle(self, result: Result[Any, DomainError] | None) -> None:
        """Record how an admitted operation ended (``None``: it was cancelled)."""
        breaker = self.breaker
        if isinstance(result, Success):
            if breaker is not None and breaker.succeeded():
                self._closed()
            self._failures.recovered()
            return
        error = None if result is None else result.failure()
        opened = False
        if isinstance(error, CacheConnectionError) and not isinstance(error, _NOT_THE_SERVER):
            incident = getattr(error.cause, _INCIDENT, None)
            counted = getattr(error.cause, _COUNTED, False)
            if (
                breaker is not None
                and not counted
                and (incident is None or incident is not self._last_incident)
            ):
                self._last_incident = incident
                opened = breaker.failed()
        elif isinstance(error, _ANSWERED) and breaker is not None and breaker.succeeded():
            self._closed()
        if error is not None and is_outage(error):  # the rest is the caller's to handle
            self._failures.failed(error, self._open_detail() if opened else "")
        if opened:  # the probe starts
            self._last_asked = time.monotonic()
            self._ensure_probing()

    # -- the probe -------------------------------------------------------------------------------

    def _wake(self) -> bool:
        """The probe thread stopped for want of calls, so what the breaker knows may be old:
        ``True`` for the first call after that (it goes to the server as the probe, and the
        probing starts again in case it fails)."""
        with self._lock:
            if not self._idled:
                return False
            self._idled = False
        self._last_asked = time.monotonic()
        self._ensure_probing()
        return True

    def _ensure_probing(self) -> None:
        """Start the probe thread unless it runs (or the guard was closed)."""
        with self._lock:
            if self._probing or self._stopped.is_set():
                return
            thread = threading.Thread(
                target=self._probe_loop, name=f"cache_bridge probe {self}", daemon=True
            )
            thread.start()  # (if it cannot start, the next refused call tries again)
            self._probing = True  # the thread clears it when it ends

    def _probe_loop(self) -> None:
        try:
            self._probe_until_closed()
        finally:
            with self._lock:
                self._probing = False

    def _probe_until_closed(self) -> None:
        breaker = self.breaker
        assert breaker is not None
        assert self._make_prober is not None
        prober: Prober | None = None
        try:
            while not self._stopped.is_set():
                wait = breaker.next_probe_in()
                if wait is None:
                    return  # closed (by a call that got an answer, or by a probe)
                if wait > 0:
                    if time.monotonic() - self._last_asked > self.idle_stop:
                        self._idled = True  # nobody asks; the next call is the probe
                        return
                    self._stopped.wait(min(wait, self.idle_stop))
                    continue
                ticket = breaker.start_probe()
                if ticket is None:
                    continue
                if prober is None:
                    prober = self._make_prober()
                result = prober.probe()
                if self._stopped.is_set():
                    return
                if answered(result):
                    if breaker.succeeded():
                        self._closed()
                    self._failures.recovered()
                    return
                breaker.probe_failed(ticket)
        except Exception:  # a bug: the next refused call starts a new thread
            self._log.exception("cache_bridge: the probe of %s stopped", self)
        finally:
            if prober is not None:
                with contextlib.suppress(Exception):
                    prober.close()

    def close(self) -> None:
        """Stop probing (the last adapter of this configuration was closed). The thread, if
        one runs, ends after its current probe."""
        self._stopped.set()

    # -- the log -------------------------------------------------------------------------------

    def _open_detail(self) -> str:
        """What the line of the failure that opened the breaker adds."""
        breaker = self.breaker
        assert breaker is not None
        return (
            "circuit open: calls fail at once while the server is probed in the background "
            f"(every {breaker.cooldown:.2f} s after {breaker.threshold} failures in a row)"
        )

    def _closed(self) -> None:
        self._failures.recovered("; circuit closed")

    def __str__(self) -> str:
        return self.description


# -- one guard per server configuration ----------------------------------------------------------


class _Registry:
    """The guards of the live server configurations of this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.guards: dict[Hashable, Guard] = {}
        # The thread holding the lock, and the leaves it must do before it lets go: a weakref
        # finalizer (see shared_guard) may run in that very thread while it holds the lock.
        self.holder: int | None = None
        self.deferred: list[tuple[Hashable, Guard]] = []

    def after_fork(self) -> None:
        # A forked child has none of its parent's threads: a lock one of them held stays
        # held, and a probe thread is gone (the next refused call starts one in the child).
        self.lock = threading.Lock()
        self.holder = None
        for guard in list(self.guards.values()):
            guard._lock = threading.Lock()
            guard._probing = False
            if guard.breaker is not None:
                guard.breaker.after_fork()


_registry = _Registry()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_registry.after_fork)


def shared_guard(
    owner: object, identity: Hashable, make: Callable[[], Guard]
) -> tuple[Guard, Callable[[], None]]:
    """The guard of the server configuration ``identity`` (``make`` builds it if no live
    adapter has it), and what ``owner`` calls when it is closed: when every adapter of the
    configuration is closed (or garbage collected), the guard stops and is forgotten, so a
    later adapter starts afresh."""
    with _registry.lock:
        _registry.holder = threading.get_ident()
        try:
            guard = _registry.guards.get(identity)
            if guard is None:
                guard = _registry.guards[identity] = make()
            guard._adapters += 1
        finally:
            deferred, _registry.deferred = _registry.deferred, []
            stopped = [left for left in deferred if _forget(*left)]
            _registry.holder = None
    for left in stopped:
        left[1].close()
    leave = weakref.finalize(owner, _leave, identity, guard)
    return guard, leave


def _leave(identity: Hashable, guard: Guard) -> None:
    if _registry.holder == threading.get_ident():
        # A finalizer run by the garbage collector inside shared_guard, in the thread that
        # holds the lock: waiting for it would wait forever. shared_guard does it.
        _registry.deferred.append((identity, guard))
        return
    with _registry.lock:
        stopped = _forget(identity, guard)
    if stopped:
        guard.close()


def _forget(identity: Hashable, guard: Guard) -> bool:
    """One adapter of ``guard`` has left (the lock is held): ``True`` if it was the last, so
    the guard is forgotten and is to be closed."""
    guard._adapters -= 1
    if guard._adapters:
        return False
    if _registry.guards.get(identity) is guard:
        del _registry.guards[identity]
    return True
