"""A circuit breaker per node of a Redis Cluster: a primary that fails makes only the calls
that need it fail fast, while the other primaries keep serving their slots.

Each node seen by a call gets a :class:`~cache_bridge.resilience.guard.Guard` of its own (breaker,
background probe, outage log), shared by every adapter of the same cluster configuration in
the process, as the adapter's own guard is. Before a command goes to a node, the node's
breaker is asked; a connection failure or a timeout of that node opens it, and is marked
(:func:`~cache_bridge.resilience.guard.mark_counted`) so the adapter's breaker does not count it:
the
adapter's breaker opens only when the cluster as a whole cannot be reached (no slot map).

A node's probe pings it; if it does not answer, the probe reads the slot map again, and a
node that serves no slot any more (a replica took over) counts as answered: no call goes
there once the callers' clients read the new map (which they do after their next failure).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from returns.result import Failure, Result, Success

from cache_bridge.adapters.redis_cluster.routing import slot_of
from cache_bridge.config import ClusterSettings
from cache_bridge.engine.commands import Command, RateLimitHit, RateLimitRefund
from cache_bridge.engine.drivers import to_cache_error
from cache_bridge.errors import CacheConnectionError, CacheUnavailableError, DomainError
from cache_bridge.faces import SyncCache
from cache_bridge.resilience.breaker import CircuitBreaker, breaker_for
from cache_bridge.resilience.guard import Guard, Prober, mark_counted, shared_guard

__all__ = ["NodeGuards", "NodeProber", "command_slot", "watch"]

_ANSWERED: Result[bool, DomainError] = Success(True)


def command_slot(command: Command) -> int | None:
    """The hash slot of a one-slot command (``None``: the command names no key)."""
    if isinstance(command, RateLimitHit | RateLimitRefund):
        return slot_of(command.limits[0].key)
    key = getattr(command, "key", None)
    return None if key is None else slot_of(key)


class NodeProber:
    """The probe of one node's breaker (see the module), on a blocking cluster face of its
    own: ``client`` gives that face's redis-py client."""

    def __init__(self, face: SyncCache, client: Callable[[], Any], name: str) -> None:
        self._face = face
        self._client = client
        self._name = name

    def probe(self) -> Result[bool, DomainError]:
        try:
            client = self._client()
        except Exception as exc:  # no slot map: the cluster cannot be reached at all
            return Failure(to_cache_error(exc, "ping", None))
        try:
            node = client.get_node(node_name=self._name)
            if node is not None:  # (else the slot map no longer has it)
                client.execute_command("PING", target_nodes=node)
            return Success(True)
        except Exception as exc:
            failed = to_cache_error(exc, "ping", None)
        try:
            client.nodes_manager.initialize()
            slots = client.nodes_manager.slots_cache
        except Exception:
            return Failure(failed)
        if any(nodes and nodes[0].name == self._name for nodes in slots.values()):
            return Failure(failed)
        return Success(False)  # it serves no slot now: nothing waits for it

    def close(self) -> None:
        self._face.close()


class NodeGuards:
    """The node guards of one adapter (see the module); ``make_prober(name)`` builds the
    probe of node ``name`` (``host:port``)."""

    def __init__(
        self, owner: object, settings: ClusterSettings, make_prober: Callable[[str], Prober]
    ) -> None:
        self._owner = owner
        self._description = settings.masked_url()
        self._identity: Hashable = ("cluster node", settings.without_prefix())
        node = settings.node
        self._breaker: Callable[[], CircuitBreaker | None] = lambda: breaker_for(node)
        self._make_prober = make_prober
        self._guards: dict[str, Guard] = {}
        self._leaves: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def _of(self, name: str) -> Guard:
        guard = self._guards.get(name)
        if guard is None:
            with self._lock:
                guard = self._guards.get(name)
                if guard is None:

                    def make() -> Guard:
                        return Guard(
                            f"{self._description} node {name}",
                            self._breaker(),
                            make_prober=lambda: self._make_prober(name),
                        )

                    guard, leave = shared_guard(self._owner, (self._identity, name), make)
                    self._guards[name] = guard
                    self._leaves.append(leave)
        return guard

    def check(self, name: str) -> None:
        """Raise :class:`CacheUnavailableError` if node ``name``'s breaker refuses a call now."""
        guard = self._of(name)
        if not guard.allows():
            breaker = guard.breaker
            why = breaker.why_open() if breaker is not None else "open"
            raise CacheUnavailableError(f"node {name}: {why}", operation="")

    def settle(self, name: str, exc: BaseException | None, command: str = "") -> None:
        """Record how a call to node ``name`` ended (``exc``: what it raised)."""
        guard = self._of(name)
        if exc is None:
            guard.settle(_ANSWERED)
            return
        if not isinstance(exc, Exception):
            return  # cancelled: it tells nothing
        error = to_cache_error(exc, command, None)
        if isinstance(error, CacheConnectionError):
            guard.settle(Failure(error))
            mark_counted(exc)  # (after: the node's own breaker must count it)
        else:  # an error reply: the node answered
            guard.settle(_ANSWERED)

    def watch(self, name: str, command: str = "") -> _Watch:
        """A context for one call to node ``name``: it raises :class:`CacheUnavailableError`
        on entry if the node's breaker refuses the call, and records how the call ended."""
        return _Watch(self, name, command)

    def release(self) -> None:
        """The adapter is closed: leave the shared guards."""
        with self._lock:
            leaves, self._leaves, self._guards = self._leaves, [], {}
        for leave in leaves:
            leave()


class _Watch:
    __slots__ = ("_command", "_guards", "_name")

    def __init__(self, guards: NodeGuards, name: str, command: str) -> None:
        self._guards = guards
        self._name = name
        self._command = command

    def __enter__(self) -> None:
        self._guards.check(self._name)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._guards.settle(self._name, exc, self._command)


def watch(
    guards: NodeGuards | None, name: str, args: tuple[Any, ...]
) -> AbstractContextManager[None]:
    """:meth:`NodeGuards.watch` for a call of ``args`` to node ``name``; a context that does
    nothing without node guards (the breaker is off)."""
    if guards is None:
        return contextlib.nullcontext()
    return guards.watch(name, str(args[0]))
