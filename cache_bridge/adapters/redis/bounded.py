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
]


# How much of what the server wrote before a reset is read to find its last reply.
_SCAN = 1 << 20


class _DeadlineSocket:
    """A connected socket whose blocking operations all end by ``deadline`` (a
    :func:`time.monotonic` time), each also within the timeout redis-py sets on it."""

    __slots__ = ("_sock", "_timeout", "deadline")

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock = sock
        self._timeout: float | None = sock.gettimeout()
        self.deadline = deadline

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> None:
        timeout = self._timeout
        if timeout == 0:
            return  # a non-blocking poll (redis-py's can_read): nothing to bound
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")  # what the socket itself raises (socket.timeout)
        self._sock.settimeout(remaining if timeout is None or remaining < timeout else timeout)

    def recv(self, *args: Any) -> bytes:
        self._arm()
        return self._sock.recv(*args)  # type: ignore[no-any-return]

    def recv_into(self, *args: Any) -> int:
        self._arm()
        return self._sock.recv_into(*args)  # type: ignore[no-any-return]

    def sendall(self, *args: Any) -> None:
        self._arm()
        try:
            self._sock.sendall(*args)
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

    _opening = False

    def connect(self) -> None:
        self._opening = True
        try:
            super().connect()
        finally:
            self._opening = False

    def _connect(self) -> Any:
        # One attempt (redis-py may make several, with retries): its own deadline.
        timeout = self.socket_connect_timeout
        deadline = time.monotonic() + (timeout if timeout else math.inf)
        return _DeadlineSocket(super()._connect(), deadline)  # type: ignore[safe-super]

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if self._sock is None:
            self.connect()
        sock: Any = self._sock
        if not self._opening:  # the handshake keeps the deadline of the opening
            timeout = self.socket_timeout
            sock.deadline = time.monotonic() + (timeout if timeout else math.inf)
        super().send_packed_command(command, check_health)


class BoundedConnection(_Bounded, sync_conn.Connection):
    """A TCP connection bounded as a whole."""


class BoundedSSLConnection(_Bounded, sync_conn.SSLConnection):
    """A TLS connection bounded as a whole."""


class BoundedUnixConnection(_Bounded, sync_conn.UnixDomainSocketConnection):
    """A Unix socket connection bounded as a whole."""


class BoundedSentinelConnection(_Bounded, SentinelManagedConnection):
    """A connection to the primary a Sentinel names, bounded as a whole (asking the sentinels
    where the primary is comes before the opening's deadline starts)."""
