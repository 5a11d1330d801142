"""The one pooled connection of an automatic pipeline
(:mod:`cache_bridge.adapters.redis.pipelining`): taken from the pool once, checked before each
round trip, opened again after a failure, and given back when the pipeline closes."""

from __future__ import annotations

import asyncio
import contextlib

from redis import exceptions as rx
from redis.asyncio.connection import AbstractConnection, ConnectionPool

from cache_bridge.adapters.redis.compat import connection_getter

__all__ = ["PipelineConnection"]


async def _can_read(conn: AbstractConnection) -> bool:
    # redis-py 8 renamed can_read_destructive (which it deprecates) to can_read.
    check = getattr(conn, "can_read", None) or conn.can_read_destructive
    return bool(await check())


class PipelineConnection:
    """A connection of ``pool`` for one pipeline, opened within ``connect_timeout``."""

    def __init__(self, pool: ConnectionPool, timeout: float, connect_timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._conn: AbstractConnection | None = None
        self._socket_timeout: float | None = None

    async def get(self) -> AbstractConnection:
        """The connection, opened (or opened again) within ``connect_timeout``, and a wait
        of up to ``timeout`` for the pool the first time."""
        if self._conn is None:
            async with asyncio.timeout(self._timeout + self._connect_timeout):
                conn: AbstractConnection = await connection_getter(self._pool)()
            # Round trips are bounded as a whole (see AutoPipeline); without a per-read
            # timeout of its own, redis-py reads and writes without a timer each.
            self._socket_timeout = conn.socket_timeout
            conn.socket_timeout = None
            self._conn = conn
            return conn
        conn = self._conn
        if conn.is_connected:
            try:
                # Buffered bytes or EOF: the server closed it (a restart) while it sat idle.
                stale = await _can_read(conn)
            except rx.ConnectionError:
                stale = True
            if stale:
                await conn.disconnect(nowait=True)
        if not conn.is_connected:
            async with asyncio.timeout(self._connect_timeout):
                await conn.connect()
        return conn

    async def drop(self) -> None:
        """Close the connection (after a failed round trip); the next :meth:`get` reopens it."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.disconnect(nowait=True)

    async def release(self) -> None:
        """Give the connection back to the pool."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.socket_timeout = self._socket_timeout
            await self._pool.release(conn)
