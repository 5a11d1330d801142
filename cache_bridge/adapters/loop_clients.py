"""One client per running event loop, for async adapters.

redis.asyncio connections belong to the event loop that opened them, and frameworks may run
each request in a fresh loop (or loops in several threads), so an async adapter keeps one
client per loop, made on first use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["LoopClients"]

C = TypeVar("C")


class LoopClients(Generic[C]):
    """The clients of one adapter, one per event loop."""

    def __init__(self, make: Callable[[], C]) -> None:
        self._make = make
        self._clients: dict[asyncio.AbstractEventLoop, C] = {}
        self._lock = threading.Lock()

    def current(self) -> C:
        """The running loop's client (made now if this loop has none)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            with self._lock:
                # Clients of closed loops can no longer be used or awaited; dropping them
                # lets the garbage collector close their sockets.
                for closed in [old for old in self._clients if old.is_closed()]:
                    del self._clients[closed]
                client = self._clients.get(loop)
                if client is None:
                    client = self._clients[loop] = self._make()
        return client

    def take(self) -> C | None:
        """Forget every client; return the running loop's one, for the caller to close
        (another loop's connections cannot be awaited from this one)."""
        with self._lock:
            clients, self._clients = self._clients, {}
        return clients.get(asyncio.get_running_loop())
