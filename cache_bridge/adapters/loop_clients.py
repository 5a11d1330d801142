"""One client per running event loop, for async adapters.

redis.asyncio connections belong to the event loop that opened them, and frameworks may run
each request in a fresh loop (or loops in several threads), so an async adapter keeps one
client per loop, made on first use.

Each client is closed on its own loop: by the adapter's ``aclose()`` for the loop it runs on,
on the other loops' thread for loops still running, and, for a loop that ends without the
adapter being closed (``asyncio.run`` per call, a thread's private loop), when that loop shuts
down its async generators (``asyncio.run`` and ``asyncio.Runner`` do): each client has a
keeper, an async generator started on its loop whose ``finally`` closes the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["LoopClients"]

C = TypeVar("C")


class _Entry(Generic[C]):
    __slots__ = ("abandoned", "client", "keeper")

    def __init__(self, client: C) -> None:
        self.client = client
        self.abandoned = False
        self.keeper: AsyncGenerator[None, None] | None = None


class LoopClients(Generic[C]):
    """The clients of one adapter, one per event loop; ``close`` closes one on its loop."""

    def __init__(self, make: Callable[[], C], close: Callable[[C], Awaitable[None]]) -> None:
        self._make = make
        self._close = close
        self._clients: dict[asyncio.AbstractEventLoop, _Entry[C]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many loops have a client now."""
        return len(self._clients)

    async def current(self) -> C:
        """The running loop's client (made now if this loop has none)."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is not None:
            return entry.client
        with self._lock:
            for closed in [old for old in self._clients if old.is_closed()]:
                # Its keeper closed the client when the loop shut down, if the loop did that.
                _abandon(self._clients.pop(closed))
            entry = self._clients.get(loop)
            made = entry is None
            if entry is None:
                entry = self._clients[loop] = _Entry(self._make())
        if made:
            entry.keeper = self._keep(entry)
            # Started on this loop, so the loop finalizes it (closing the client) on shutdown.
            await anext(entry.keeper)
        return entry.client

    async def _keep(self, entry: _Entry[C]) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if not entry.abandoned:
                entry.abandoned = True
                with contextlib.suppress(Exception):
                    await self._close(entry.client)

    async def close_all(self) -> None:
        """Forget every client and close each on its own loop: this loop's now; a running
        other loop's on that loop (not waited for); a closed loop's client can only be
        dropped (its keeper closed it if that loop shut down its async generators)."""
        with self._lock:
            entries, self._clients = self._clients, {}
        running = asyncio.get_running_loop()
        for loop, entry in entries.items():
            if loop is running:
                if entry.keeper is not None:
                    await entry.keeper.aclose()  # its finally closes the client
                if not entry.abandoned:  # a keeper not started yet has no finally to run
                    entry.abandoned = True
                    await self._close(entry.client)
            elif loop.is_closed():
                _abandon(entry)
            elif entry.keeper is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed just now
                    asyncio.run_coroutine_threadsafe(entry.keeper.aclose(), loop)


def _abandon(entry: _Entry[C]) -> None:
    """Finish the keeper of a client whose loop is closed without running its loop (which
    would fail): nothing can be awaited there any more."""
    entry.abandoned = True
    keeper, entry.keeper = entry.keeper, None
    if keeper is None:
        return
    closing = keeper.aclose()
    try:
        closing.send(None)
    except StopIteration:
        pass
    else:  # pragma: no cover - an abandoned keeper awaits nothing
        closing.close()
