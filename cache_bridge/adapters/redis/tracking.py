"""The invalidation connection of a near cache: one dedicated connection with
``CLIENT TRACKING ON REDIRECT <its own id> BCAST`` and a subscription to
``__redis__:invalidate`` (RESP2), read by a daemon thread.

BCAST on one dedicated connection does not depend on which pooled connection read a key, and a
re-made connection gets the same tracking back. Whenever the connection fails, stays silent past
``max_silence`` or is re-made, the near cache is emptied first. A push that has reached the
socket but that the thread has not handled yet keeps every read off the near cache
(:meth:`Tracker.pending`), so coherence does not wait for the thread to be scheduled.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Any

import redis

from cache_bridge.adapters.redis.near_cache import NearCache

__all__ = ["Tracker", "start_near_cache"]


class Tracker:
    """Feeds ``near`` with the server's invalidations until :meth:`stop`."""

    def __init__(self, near: NearCache, connect: Any) -> None:
        self._near, self._connect = near, connect
        self._stop = threading.Event()
        self._socket: Any = None
        self._poller: Any = None
        self._handling = True
        near.pending = self.pending
        self._thread = threading.Thread(target=self._run, name="near-cache-tracking", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._near.set_ready(False)

    def pending(self) -> bool:
        """Whether a push may have arrived that the near cache has not applied yet."""
        # The socket first, then the flag: bytes the thread took off the socket after the
        # first check are seen by the second.
        poller = self._poller
        try:
            readable = poller is None or bool(poller.poll(0))
        except (OSError, ValueError):
            return True
        return readable or self._handling

    def _run(self) -> None:
        while not self._stop.is_set():
            connection = None
            try:
                connection = self._connect()
                self._subscribe(connection)
                self._socket = connection._sock
                poller = select.poll()
                poller.register(self._socket, select.POLLIN | select.POLLPRI)
                self._poller = poller
                self._handling = False
                self._near.set_ready(True)
                self._listen(connection)
            except (redis.RedisError, OSError):
                pass
            finally:
                self._handling = True
                self._near.set_ready(False)
                self._poller = self._socket = None
                if connection is not None:
                    connection.disconnect()
            self._stop.wait(0.05)

    def _subscribe(self, connection: Any) -> None:
        connection.send_command("CLIENT", "ID")
        client_id = connection.read_response()
        connection.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST")
        connection.read_response()
        connection.send_command("SUBSCRIBE", "__redis__:invalidate")
        connection.read_response()

    def _listen(self, connection: Any) -> None:
        # select() waits without reading: redis-py's timed-out read disconnects, and its next
        # send would reconnect silently WITHOUT tracking (stale reads for good).
        near = self._near
        while not self._stop.is_set() and near.ready:
            if time.monotonic() - near.alive_at > near.max_silence:
                return
            if not select.select([self._socket], [], [], near.max_silence / 3)[0]:
                connection.send_command("PING", check_health=False)
                continue
            self._handling = True
            self._handle(connection.read_response())
            while connection.can_read(timeout=0):
                self._handle(connection.read_response())
            self._handling = False

    def _handle(self, message: Any) -> None:
        self._near.alive_at = time.monotonic()
        if isinstance(message, list) and message[:1] == [b"message"]:
            keys = message[2]
            self._near.received(None if keys is None else [k.decode() for k in keys])


def start_near_cache(settings: Any, pool: Any) -> tuple[NearCache, Tracker] | None:
    """The near cache ``settings`` ask for, fed by a new invalidation connection made like the
    connections of ``pool``; None when ``near_cache`` is off."""
    if not settings.near_cache:
        return None
    near = NearCache(
        settings.near_cache_max_entries, settings.near_cache_max_bytes, settings.timeout
    )
    tracker = Tracker(near, lambda: pool.connection_class(**pool.connection_kwargs))
    return near, tracker
