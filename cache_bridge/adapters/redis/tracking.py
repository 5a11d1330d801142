"""The invalidation connection of a near cache: one dedicated connection with
``CLIENT TRACKING ON REDIRECT <its own id> BCAST`` and a subscription to
``__redis__:invalidate`` (RESP2), read by a daemon thread.

BCAST on one dedicated connection does not depend on which pooled connection read a key, and a
re-made connection gets the same tracking back. Whenever the connection fails, stays silent past
``max_silence`` or is re-made, the near cache is emptied first. A push that has reached the
socket but that the thread has not handled yet keeps every read off the near cache
(:meth:`Tracker.pending`), so coherence does not wait for the thread to be scheduled.

The thread never dies before :meth:`Tracker.stop`: a failure of any kind empties the near cache
and it tries again, waiting longer each time in a row (up to :data:`MAX_RETRY_DELAY`). A
server that refuses tracking (an ACL user without ``+client|tracking``, a server before Redis
6, a proxy) gets one warning naming the command and what to do; an unexpected failure goes to
the :class:`~cache_bridge.resilience.outage_log.OutageLog` of the near cache.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import redis

from cache_bridge.adapters.redis.clients import sync_client
from cache_bridge.adapters.redis.near_cache import NearCache
from cache_bridge.config import RedisSettings
from cache_bridge.errors import CacheError
from cache_bridge.observability.events import without_credentials
from cache_bridge.resilience.outage_log import OutageLog, logger

__all__ = ["MAX_RETRY_DELAY", "Tracker", "start_near_cache"]

#: Seconds between two attempts at tracking, after the first failure (doubled each time in a
#: row, up to :data:`MAX_RETRY_DELAY`; back to the first after tracking worked).
FIRST_RETRY_DELAY = 0.05
#: The longest wait between two attempts at tracking.
MAX_RETRY_DELAY = 5.0
#: ... and while the server cannot be reached (a restart should not keep the near cache off long).
MAX_RECONNECT_DELAY = 1.0


class _Refused(Exception):
    """The server answered an error to a command that sets tracking up."""

    def __init__(self, command: str, error: redis.ResponseError) -> None:
        super().__init__(command, error)
        self.command, self.error = command, error


_trackers: weakref.WeakSet[Tracker] = weakref.WeakSet()


def _track_again_in_child() -> None:
    global _shared_lock  # noqa: PLW0603 - another thread may have held it at the fork
    _shared_lock = threading.Lock()
    for tracker in list(_trackers):
        tracker.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_track_again_in_child)


class Tracker:
    """Feeds ``near`` with the server's invalidations until :meth:`stop`."""

    def __init__(self, near: NearCache, connect: Any) -> None:
        self._near, self._connect = near, connect
        self._stop = threading.Event()
        self._socket: Any = None
        self._poller: Any = None
        self._handling = True
        self._failures = OutageLog(f"the near cache of {near.server}")
        self._warned_refusal = False
        self._starting = threading.Lock()
        near.pending = self.pending
        _trackers.add(self)
        self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="near-cache-tracking", daemon=True)
        self._thread.start()

    def _start_in_child(self) -> None:
        """The child's first use of the near cache: track on a connection of its own."""
        with self._starting:
            if self._near.wake == self._start_in_child:
                self._near.wake = _nothing
                self._start()

    def after_fork(self) -> None:
        """In a forked child, where the thread is gone and the parent's pushes never come: empty
        the near cache, close the child's copy of the parent's socket (close, not shutdown:
        the parent's connection stays up and nothing is sent on it), and track on a connection
        of the child's own once the child uses the near cache (a worker that never does makes
        no connection and no thread)."""
        stopped = self._stop.is_set()
        self._stop = threading.Event()  # (its lock may have been held at the fork)
        self._starting = threading.Lock()
        self._failures = OutageLog(self._failures.subject)  # (its lock, too)
        inherited, self._socket, self._poller = self._socket, None, None
        if inherited is not None:
            with contextlib.suppress(OSError):
                inherited.close()
        self._handling = True
        self._near.after_fork()
        if stopped:
            self._stop.set()
        else:
            self._near.wake = self._start_in_child

    def stop(self) -> None:
        self._stop.set()
        self._near.wake = _nothing
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
        delay = FIRST_RETRY_DELAY
        while not self._stop.is_set():
            cap = MAX_RETRY_DELAY
            try:
                if self._track():
                    delay = FIRST_RETRY_DELAY  # it tracked: a drop is retried at once
            except _Refused as refused:
                self._refused(refused)
            except (redis.RedisError, OSError):
                cap = MAX_RECONNECT_DELAY
            except Exception as exc:  # the thread must outlive anything
                error = CacheError(
                    f"invalidation thread: {type(exc).__name__}: {exc}",
                    operation="near cache tracking",
                    cause=exc,
                )
                self._failures.failed(error, "the near cache is emptied and tracks again")
            self._stop.wait(delay)
            delay = min(delay * 2, cap)

    def _track(self) -> bool:
        """One invalidation connection, listened to until it fails, falls silent or the
        tracker stops; whether it tracked. The near cache is emptied when it ends."""
        connection = None
        tracked = False
        try:
            connection = self._connect()
            self._subscribe(connection)
            self._socket = connection._sock
            poller = select.poll()
            poller.register(self._socket, select.POLLIN | select.POLLPRI)
            self._poller = poller
            self._handling = False
            self._near.set_ready(True)
            tracked, self._warned_refusal = True, False
            self._failures.recovered()
            self._listen(connection)
        finally:
            self._handling = True
            self._near.set_ready(False)
            self._poller = self._socket = None
            if connection is not None:
                connection.disconnect()
        return tracked

    def _refused(self, refused: _Refused) -> None:
        if self._warned_refusal:
            return
        self._warned_refusal = True
        logger.warning(
            "cache_bridge: the near cache of %s stays off: the server refused %s (%s); grant "
            "the user +client|tracking, +client|id and +subscribe on __redis__:invalidate "
            "(Redis 6 or later is needed), or turn near_cache off. Calls are sent to the "
            "server meanwhile; tracking is tried again every %g s.",
            self._near.server,
            refused.command,
            refused.error,
            MAX_RETRY_DELAY,
        )

    def _subscribe(self, connection: Any) -> None:
        client_id = _setup(connection, "CLIENT", "ID")
        _setup(connection, "CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST")
        _setup(connection, "SUBSCRIBE", "__redis__:invalidate")

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
            if keys is not None and not isinstance(keys, list):  # a PUBLISH by some client
                raise ValueError(f"not a list of keys on __redis__:invalidate: {keys!r:.80}")
            # Any client's key comes (BCAST): ours are UTF-8 and map exactly; bytes that are
            # not cannot be ours, and must not stop the thread.
            decoded = None if keys is None else [k.decode("utf-8", "surrogateescape") for k in keys]
            self._near.received(decoded)


def _nothing() -> None:
    pass


def _setup(connection: Any, *command: Any) -> Any:
    """Send one command that sets tracking up; an error reply is a :class:`_Refused`."""
    connection.send_command(*command)
    try:
        return connection.read_response()
    except redis.ResponseError as exc:
        raise _Refused(" ".join(str(part) for part in command[:2]), exc) from exc


# One near cache per server and near-cache options, shared by every adapter made with them
# (both faces, any key prefix), with how many adapters use it.
_shared: dict[RedisSettings, tuple[NearCache, Tracker, list[int]]] = {}
_shared_lock = threading.Lock()


def start_near_cache(settings: RedisSettings) -> tuple[NearCache, Callable[[], None]] | None:
    """The near cache ``settings`` ask for, and what the adapter calls when it is closed;
    None when ``near_cache`` is off.

    Adapters of the same server and options share one near cache, fed by one invalidation
    connection (a blocking one read by a thread, for either face: it belongs to no event
    loop), stopped when the last of them is closed.
    """
    if not settings.near_cache:
        return None
    identity = settings.without_prefix()
    with _shared_lock:
        shared = _shared.get(identity)
        if shared is None:
            near = NearCache(
                settings.near_cache_max_entries,
                settings.near_cache_max_bytes,
                settings.timeout,
                without_credentials(settings.masked_url()),
            )
            pool = sync_client(settings).connection_pool  # connects nothing: makes connections
            tracker = Tracker(near, lambda: pool.connection_class(**pool.connection_kwargs))
            shared = _shared[identity] = (near, tracker, [0])
        shared[2][0] += 1
    left = [False]

    def leave() -> None:
        with _shared_lock:
            if left[0]:
                return
            left[0] = True
            shared[2][0] -= 1
            if shared[2][0] > 0:
                return
            if _shared.get(identity) is shared:
                del _shared[identity]
        shared[1].stop()

    return shared[0], leave
