"""redis-py's blocking connections, bounded as wholes rather than per socket read.

redis-py gives each blocking socket operation ``socket_timeout`` of its own, so a reply that
keeps arriving a little at a time (a large value over a slow link, a reply trickled a byte
at a time) is never cut off: each read is quick enough. Here every exchange (a write and the
replies to it, a MULTI/EXEC or a pipeline included) ends within ``socket_timeout`` of its
write, and opening a connection (the TCP connect, TLS and the Redis handshake: AUTH, SELECT,
CLIENT SETINFO) within ``socket_connect_timeout``. The Redis, Redis Cluster and Sentinel
adapters' blocking clients all use these classes.

A server that refuses a value longer than its ``proto-max-bulk-len`` answers with an error
and resets the connection while the rest of the value is still being sent; the write then
fails with that error reply (a :class:`redis.exceptions.ResponseError`), not as a dropped
connection.
"""

from __future__ import annotations

import math
import select
import time
from typing import Any

from redis import connection as sync_conn
from redis import exceptions as rx
from redis.sentinel import SentinelManagedConnection

__all__ = [
    "BoundedConnection",
    "BoundedSSLConnection",
    "BoundedSentinelConnection",
    "BoundedUnixConnection",
    "DeadlineSocket",
]


# How much of what the server wrote before a reset is read to find its last reply.
_SCAN = 1 << 20
# How far past its deadline an operation may end, so that a quick exchange keeps the timeout
# already set on the socket (no call to tighten it by a few microseconds).
_SLACK = 0.002
_monotonic = time.monotonic
# A peer's orderly close, where the platform reports it apart (Linux).
_POLLRDHUP = getattr(select, "POLLRDHUP", 0)


class DeadlineSocket:
    """A connected socket whose blocking operations all end by the deadline of their
    exchange, each also within the timeout redis-py sets on it.

    The first write after a reply starts an exchange, which must end within ``limit``
    seconds (redis-py's ``socket_timeout``); until :meth:`opened`, the handshake's writes keep
    the deadline of the opening. Everything but the three blocking operations is the socket's
    own (bound methods, so redis-py's non-blocking checks cost what they did), and the
    deadline is applied only once it is nearer than the timeout already set (by more than
    :data:`_SLACK`): a quick exchange makes no call to the socket more than redis-py's own.
    """

    __slots__ = (
        "_limit",
        "_opening",
        "_poller",
        "_replied",
        "_sock",
        "_tightened",
        "deadline",
        "fileno",
        "gettimeout",
        "pending",
        "settimeout",
    )

    def __init__(self, sock: Any, opening_deadline: float, limit: float | None) -> None:
        self._sock = sock
        self._limit = limit if limit else math.inf
        self.deadline = opening_deadline
        self._opening = True
        self._replied = True  # the next write (after the opening) starts an exchange
        self._tightened = False
        self.fileno = sock.fileno
        self.settimeout = sock.settimeout
        self.gettimeout = sock.gettimeout
        # Defined for every socket (0 for a plain one: ``int()``), so that redis-py's
        # hasattr(sock, "pending") needs no failed lookup; a TLS socket's own otherwise.
        self.pending = getattr(sock, "pending", int)
        self._poller: Any = None
        if hasattr(select, "poll"):
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN | _POLLRDHUP)

    def unread(self) -> bool | None:
        """Whether the socket holds bytes nobody read or was closed by the server: a check of
        a connection that sat idle (``None``: this platform cannot tell; ask redis-py)."""
        if self._poller is None:
            return None
        return bool(self.pending() or self._poller.poll(0))

    def opened(self) -> None:
        """The handshake is over: the next write starts the first exchange."""
        self._opening = False
        self._replied = True

    # The three blocking operations tighten the socket's timeout to the deadline when that is
    # nearer (written out in each: they are on every call's path).

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._replied = True
        sock = self._sock
        timeout = sock.gettimeout()
        if timeout != 0:  # (0: a non-blocking poll, redis-py's can_read: nothing to bound)
            remaining = self.deadline - _monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")  # what the socket itself raises
            if timeout is None or remaining < timeout - _SLACK:
                sock.settimeout(remaining)
                self._tightened = True
        # (A TLS socket reads the buffer's size only when given no size at all.)
        if nbytes or flags:
            return sock.recv_into(buffer, nbytes, flags)  # type: ignore[no-any-return]
        return sock.recv_into(buffer)  # type: ignore[no-any-return]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._replied = True
        sock = self._sock
        timeout = sock.gettimeout()
        if timeout != 0:
            remaining = self.deadline - _monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")
            if timeout is None or remaining < timeout - _SLACK:
                sock.settimeout(remaining)
                self._tightened = True
        return sock.recv(bufsize, flags)  # type: ignore[no-any-return]

    def sendall(self, data: Any, flags: int = 0) -> None:
        sock = self._sock
        if self._replied and not self._opening:
            # A new exchange: its deadline, and redis-py's timeout (nearer) for this write.
            self._replied = False
            self.deadline = _monotonic() + self._limit
            if self._tightened:
                self._tightened = False
                sock.settimeout(self._limit if self._limit != math.inf else None)
        else:
            timeout = sock.gettimeout()
            if timeout != 0:
                remaining = self.deadline - _monotonic()
                if remaining <= 0:
                    raise TimeoutError("timed out")
                if timeout is None or remaining < timeout - _SLACK:
                    sock.settimeout(remaining)
                    self._tightened = True
        try:
            sock.sendall(data, flags)
        except (ConnectionResetError, BrokenPipeError):
            refusal = self._refusal()
            if refusal is not None:
                raise refusal from None
            raise

    def _refusal(self) -> rx.ResponseError | None:
        """The error reply the server wrote last, before it reset the connection, if it was
        the refusal of something it could not parse (a value over ``proto-max-bulk-len``)."""
        chunks: list[bytes] = []
        try:
            self._sock.settimeout(0)
            while sum(map(len, chunks)) < _SCAN:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            pass  # nothing more (or the reset itself): what came before it is what counts
        data = b"".join(chunks)
        if not data.endswith(b"\r\n"):
            return None
        cut = data.rfind(b"\r\n", 0, len(data) - 2)
        line = data[cut + 2 if cut >= 0 else 0 : -2]
        if not line.startswith(b"-ERR Protocol error"):
            return None
        return rx.ResponseError(line[len(b"-ERR ") :].decode("utf-8", "replace"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Bounded(sync_conn.AbstractConnection):
    """What the bounded classes add to redis-py's (see the module's docstring)."""

    def _connect(self) -> Any:
        # One attempt (redis-py may make several, with retries): its own deadline.
        timeout = self.socket_connect_timeout
        deadline = _monotonic() + (timeout if timeout else math.inf)
        sock = super()._connect()  # type: ignore[safe-super]
        return DeadlineSocket(sock, deadline, self.socket_timeout)

    # redis-py opens a connection in connect() (5.x) or connect_check_health() (6 and later,
    # which connect() calls): after either, the handshake is over.

    def connect(self) -> None:
        super().connect()
        self._opened()

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        super().connect_check_health(*args, **kwargs)
        self._opened()

    def _opened(self) -> None:
        sock: Any = self._sock
        if sock is not None:
            sock.opened()


class BoundedConnection(_Bounded, sync_conn.Connection):
    """A TCP connection bounded as a whole."""


class BoundedSSLConnection(_Bounded, sync_conn.SSLConnection):
    """A TLS connection bounded as a whole."""


class BoundedUnixConnection(_Bounded, sync_conn.UnixDomainSocketConnection):
    """A Unix socket connection bounded as a whole."""


class BoundedSentinelConnection(_Bounded, SentinelManagedConnection):
    """A connection to the primary a Sentinel names, bounded as a whole (asking the sentinels
    where the primary is comes before the opening's deadline starts)."""
