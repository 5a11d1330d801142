"""Running planned commands on redis-py connections, blocking: the sync adapter's executor.

redis-py's ``Redis.execute_command`` takes a connection from the pool and gives it back on
every call, recording metrics and checking the socket each time; that costs more client CPU
than the command's own round trip on a local server. :class:`SyncExecutor` keeps the
connections it has used in a free list in front of the same bounded pool (the pool still
caps how many exist), checks a connection's socket before each use (so a server restart
while it sat idle does not fail the next call), and speaks to it directly. Scripts go by
``EVALSHA`` with an ``EVAL`` fallback (:mod:`cache_bridge.adapters.redis.sending`).

With ``retries`` > 0 it uses ``execute_command``, whose retry policy then applies.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import redis
from redis import exceptions as rx
from redis.connection import Connection

from cache_bridge.adapters.redis.bounded import DeadlineSocket
from cache_bridge.adapters.redis.compat import connection_getter
from cache_bridge.adapters.redis.errors import closes_the_connection
from cache_bridge.adapters.redis.packing import pack, pack_many
from cache_bridge.adapters.redis.plan import Args, plan
from cache_bridge.adapters.redis.sending import Request, send_on_client, send_plan
from cache_bridge.engine.commands import Command
from cache_bridge.errors import CacheClosedError

__all__ = ["SyncExecutor"]

_executors: weakref.WeakSet[SyncExecutor] = weakref.WeakSet()


def _forget_parent_connections() -> None:
    # A forked child must not write on its parent's sockets: it forgets the parked ones (the
    # parent still owns them) and opens its own; redis-py's pool resets itself likewise.
    for executor in list(_executors):
        executor._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_connections)


class SyncExecutor:
    """Runs one planned command (or one MULTI/EXEC) per call; safe for many threads."""

    def __init__(self, client: redis.Redis, retries: int) -> None:
        self._client = client
        self._pool = client.connection_pool
        self._get_connection = connection_getter(self._pool)
        self._direct = retries == 0
        self._idle: list[Connection] = []
        # Taking a parked connection is one atomic ``list.pop`` without the lock. The lock is
        # taken on every release (so that a connection goes to the pool rather than the free
        # list while a thread waits there, which would otherwise starve until its timeout, and
        # so that nothing is parked after close()), and when the free list is empty.
        self._lock = threading.Lock()
        self._waiting = 0
        self._closed = False
        _executors.add(self)

    def _after_fork(self) -> None:
        self._idle = []
        self._lock = threading.Lock()
        self._waiting = 0

    def __call__(self, command: Command) -> Any:
        return send_plan(plan(command), self._send if self._direct else self._send_on_client)

    def _send(self, request: Request) -> Any:
        return self._transaction(request) if isinstance(request, list) else self._call(request)

    def _send_on_client(self, request: Request) -> Any:
        return send_on_client(self._client, request)

    def _call(self, args: Args) -> Any:
        conn = self._acquire()
        try:
            conn.send_packed_command(pack(conn, args), check_health=False)
            reply = conn.read_response()
        except rx.ResponseError as error:
            if closes_the_connection(error):
                self._broken(conn)  # the server closed it after this reply
            else:
                # An error reply was read whole: the connection is in step and reusable.
                self._release(conn)
            raise
        except BaseException:
            self._broken(conn)
            raise
        self._release(conn)
        return reply

    def _transaction(self, commands: list[Args]) -> list[Any]:
        """``commands`` in one MULTI/EXEC, written at once; the replies of EXEC. Every reply
        (MULTI's, one per command, EXEC's) is read whatever it says, so that the connection
        is in step when it is reused; then the first error is raised: MULTI refused (an ACL
        user without it), a command refused while queued, or one failing inside EXEC."""
        conn = self._acquire()
        error: rx.ResponseError | None = None
        replies: Any = None
        try:
            packed = pack_many(conn, [("MULTI",), *commands, ("EXEC",)])
            conn.send_packed_command(packed, check_health=False)
            for _ in range(len(commands) + 2):  # +OK, one +QUEUED per command, then EXEC's
                try:
                    replies = conn.read_response()
                except rx.ResponseError as refused:
                    if closes_the_connection(refused):
                        raise  # nothing more comes: the server closed the connection
                    error = error or refused
        except BaseException:
            self._broken(conn)
            raise
        self._release(conn)
        if error is not None:
            raise error
        if not isinstance(replies, list):
            raise rx.ResponseError(f"EXEC answered {replies!r}")
        for reply in replies:
            if isinstance(reply, rx.ResponseError):
                raise reply
        return replies

    def _broken(self, conn: Connection) -> None:
        """Give back a connection whose call failed other than by a whole error reply: a
        timeout, a dropped socket or an interrupt may leave replies unread, so it is closed
        before it is reused."""
        conn.disconnect()
        self._release(conn)

    def _acquire(self) -> Connection:
        try:
            # Atomic: a connection popped here was never handed to the pool by close(), which
            # empties the free list by the same pops.
            conn = self._idle.pop()
        except IndexError:
            conn = self._from_pool()
        try:
            sock: Any = conn._sock
            if sock is not None and _unread(conn, sock):
                # Unread data or a closed socket (the server went away while it sat idle).
                conn.disconnect()
        except (rx.ConnectionError, rx.TimeoutError, OSError):
            conn.disconnect()
        except BaseException:
            self._release(conn)
            raise
        return conn

    def _from_pool(self) -> Connection:
        with self._lock:
            if self._closed:
                raise _closed_error()
            if self._idle:
                return self._idle.pop()
            self._waiting += 1
        try:
            conn: Connection = self._get_connection()
        finally:
            with self._lock:
                self._waiting -= 1
        if self._closed:  # the pool handed it out (and connected it) after close()
            conn.disconnect()
            self._pool.release(conn)
            raise _closed_error()
        return conn

    def _release(self, conn: Connection) -> None:
        with self._lock:
            if not self._waiting and not self._closed:
                self._idle.append(conn)
                return
            closed = self._closed
        if closed:  # the call was running when close() came: it ends its connection
            conn.disconnect()
        self._pool.release(conn)

    def close(self) -> None:
        """Close every idle connection at once, and each one in use when its call ends (in
        the calling thread: closing a socket another thread is reading can make that thread
        read whatever socket reuses the descriptor). Later calls fail with
        :class:`CacheClosedError` and open none."""
        with self._lock:
            self._closed = True
            idle = self._idle
            while idle:
                conn = idle.pop()
                conn.disconnect()  # by its owner; those in the pool's queue are closed below
                self._pool.release(conn)
        self._pool.disconnect(inuse_connections=False)


def _unread(conn: Connection, sock: Any) -> bool:
    """Whether an idle connection holds unread bytes or was closed by the server (one poll
    of a bounded connection's socket; redis-py's own check otherwise)."""
    unread = sock.unread() if isinstance(sock, DeadlineSocket) else None
    return bool(conn.can_read()) if unread is None else unread


def _closed_error() -> CacheClosedError:
    return CacheClosedError("the adapter was closed", operation="")
