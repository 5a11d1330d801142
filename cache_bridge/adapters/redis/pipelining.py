"""Automatic pipelining for the async Redis adapter: commands issued while the event loop is
busy share one write and one round trip on one connection.

A call that finds the pipeline idle (no round trip in flight, nothing queued) leads: it
writes its own command and reads its reply itself, with no hop to another task. Every call
that arrives meanwhile queues its command and waits for its own reply; when the leader is
done, one writer task per event loop takes everything queued so far, writes it as one
packet, and reads the replies in order, handing each caller its own. A leader's round trip
carries its own command only, so a leader that is cancelled (redis-py then closes the
connection) loses its own reply and nobody else's: the queued calls go in the next round
trip, which reconnects. In both kinds of round trip: a reply that is an error fails only
its command; a timeout or a dropped connection fails the commands of that round trip (their
replies can no longer be told apart) and closes the connection, and the next round trip
reconnects; a caller in a writer's round trip that is cancelled stops waiting while its reply
is still read and discarded, so the stream stays in step.

Bounds: opening the connection (the TCP connect and the handshake) is bounded by
``connect_timeout``, and a round trip, from its write to its last reply, by ``timeout``: a link
slower than half the timeout still serves every call. Each caller also has a bound of its own,
``connect_timeout + timeout`` from its call, whatever it queued behind: a caller whose bound
passes while its round trip is still being read fails alone (its reply is read and dropped).
Calls never wait long behind a slow round trip (a large reply on a slow link): the calls
queued behind a round trip outstanding for a quarter of the timeout go on other connections
of the pool (:mod:`cache_bridge.adapters.redis.lanes`).

A command that carries more than 1 MiB (the least ``proto-max-bulk-len`` a server may have)
never shares a round trip: a server that refuses it answers with an error and closes the
connection, which fails that call alone; the commands queued behind it go in the next round
trip, on a new connection.

Only single commands go this way; a MULTI/EXEC keeps its own pooled connection, so it stays
atomic and never interleaves with other callers' commands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from redis import exceptions as rx
from redis.asyncio.connection import ConnectionPool

from cache_bridge.adapters.redis.errors import closes_the_connection
from cache_bridge.adapters.redis.packing import pack_many
from cache_bridge.adapters.redis.pipeline_connection import PipelineConnection
from cache_bridge.adapters.redis.pipeline_failures import closed, fresh, refused
from cache_bridge.adapters.redis.plan import Args

__all__ = ["AutoPipeline", "Pending"]

# Enough to keep one packet reasonable; more queued commands wait for the next round trip.
_MAX_BATCH = 512
#: The least ``proto-max-bulk-len`` a Redis server accepts: no argument shorter than this is
#: ever refused, so a packet under it cannot be cut short by a refused value.
_LARGE = 1 << 20

# The arguments, the caller's future, and the loop time by which the caller gives up.
Pending = tuple[Args, "asyncio.Future[Any]", float]
_NO_DEADLINE = float("inf")


def _size(packed: list[bytes]) -> int:
    return sum(map(len, packed))


class AutoPipeline:
    """The queue and the writer task of one event loop, over one connection of ``pool``.

    ``on_stall`` is given the calls still queued once a round trip has been outstanding for
    ``stall_after`` seconds (they are taken off this pipeline's queue, to go elsewhere)."""

    def __init__(
        self,
        pool: ConnectionPool,
        timeout: float,
        connect_timeout: float,
        on_stall: Callable[[list[Pending]], None] | None = None,
        stall_after: float = _NO_DEADLINE,
    ) -> None:
        self._link = PipelineConnection(pool, timeout, connect_timeout)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._queue: list[Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._leading = False  # a caller is doing a round trip of its own (see _lead)
        self._watch: asyncio.TimerHandle | None = None  # see _expire
        self._on_stall = on_stall
        self._stall_after = stall_after
        self._stall: asyncio.TimerHandle | None = None  # see _stalled
        #: The loop time when the round trip in flight started (``None``: none is).
        self.since: float | None = None

    @property
    def idle(self) -> bool:
        """No round trip in flight or to come."""
        return self._task is None and not self._leading and not self._queue

    async def execute(self, args: Args) -> Any:
        """Send ``args`` in the next round trip and return its reply (or raise its error)."""
        if self._closed:
            raise closed()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._task is None and not self._leading:
            if not self._queue:
                return await self._lead(args, future)
            self._start_writer(loop)  # (only if the last leader was cancelled before it)
        self._queue.append((args, future, loop.time() + self._connect_timeout + self._timeout))
        self._watch_stall(loop)
        return await future

    def adopt(self, pending: list[Pending]) -> None:
        """Queue calls taken from a stalled pipeline (each keeps its bound)."""
        if self._closed:
            self._fail(pending, closed())
            return
        loop = asyncio.get_running_loop()
        self._queue[:0] = pending  # they waited longer than anything queued here
        if self._task is None and not self._leading:
            self._start_writer(loop)
        else:
            self._watch_stall(loop)

    def _watch_stall(self, loop: asyncio.AbstractEventLoop) -> None:
        """Call :meth:`_stalled` if the round trip in flight is still so once ``stall_after``
        from its start (unless that time has passed: nothing better is left, see lanes)."""
        if self._on_stall is None or self._stall is not None or self.since is None:
            return
        at = self.since + self._stall_after
        if at > loop.time():
            self._stall = loop.call_at(at, self._stalled)

    def _stalled(self) -> None:
        self._stall = None
        if self._queue and self._on_stall is not None:
            self._on_stall(self._take_queue())

    def _start_writer(self, loop: asyncio.AbstractEventLoop) -> None:
        # The task starts on a later turn of the loop, after every caller ready to run this
        # turn has queued its command.
        self._task = loop.create_task(self._run())

    async def _lead(self, args: Args, future: asyncio.Future[Any]) -> Any:
        """One round trip of the calling task's own command, in the calling task (bounded as
        a whole by the connect and round-trip timeouts: no deadline of its own is needed)."""
        self._leading = True
        try:
            await self._round_trip([(args, future, _NO_DEADLINE)])
        except BaseException:
            # Cancelled: _round_trip failed the future (nobody else waits on it) and dropped
            # the connection; mark its error retrieved so that asyncio does not log it.
            if future.done() and not future.cancelled():
                future.exception()
            raise
        finally:
            self._leading = False
            if not self._closed:
                if self._queue:  # the calls that queued meanwhile: the next round trip
                    self._start_writer(asyncio.get_running_loop())
            else:
                await self._close_after_leading()
        return future.result()

    async def _close_after_leading(self) -> None:
        # aclose() ran while this leader used the connection: release it now (after failing
        # whatever queued since, so that nobody waits even if this await is interrupted).
        self._fail(self._queue, closed())
        self._queue = []
        await self._link.release()

    async def _run(self) -> None:
        # Runs while there is work and then ends, so no task outlives its loop's last call.
        try:
            while self._queue and not self._closed:
                batch = self._queue[:_MAX_BATCH]
                del self._queue[:_MAX_BATCH]
                # Callers cancelled (or past their bound) before their turn are not sent.
                batch = [pending for pending in batch if not pending[1].done()]
                if batch:
                    await self._round_trip(batch)
        except BaseException as exc:
            # Cancelled (the loop is closing, or aclose()) or a bug: nobody may wait forever.
            stopped = (
                closed() if self._closed else rx.ConnectionError(f"the pipeline stopped ({exc!r})")
            )
            self._fail(self._queue, stopped)
            self._queue = []
            raise
        finally:
            self._task = None

    async def _round_trip(self, batch: list[Pending]) -> None:
        """Write ``batch`` and read its replies on the pipeline's connection."""
        self.since = asyncio.get_running_loop().time()
        try:
            await self._exchange(batch)
        finally:
            self.since = None
            if self._stall is not None:
                self._stall.cancel()
                self._stall = None

    async def _exchange(self, batch: list[Pending]) -> None:
        try:
            conn = await self._link.get()
        except BaseException as exc:
            await self._not_opened(batch, exc)  # (raises again if cancelled)
            return
        packed = pack_many(conn, [args for args, _, _ in batch])
        if len(batch) > 1:
            if _size(packed) > _LARGE:
                # A large command goes alone (see the module's docstring): each in turn.
                for pending in batch:
                    if not pending[1].done():
                        await self._round_trip([pending])
                return
            first = min(deadline for _, _, deadline in batch)  # (adopted calls come first)
            loop = asyncio.get_running_loop()
            if first < loop.time() + self._timeout:
                # A caller that queued behind earlier round trips may reach its own bound
                # before this one ends: it fails then, alone (see _expire).
                self._watch = loop.call_at(first, self._expire, batch)
        done = 0
        written = False
        try:
            async with asyncio.timeout(self._timeout):
                await conn.send_packed_command(packed, check_health=False)
                written = True
                for _, future, _ in batch:
                    try:
                        reply = await conn.read_response()
                    except rx.ResponseError as error:
                        done += 1
                        if not future.done():
                            future.set_exception(error)
                        if closes_the_connection(error):
                            # The server closed the connection after this reply and ran
                            # nothing sent after it: those calls go in the next round trip.
                            await self._link.drop()
                            self._queue[:0] = [p for p in batch[done:] if not p[1].done()]
                            return
                    else:
                        done += 1
                        if not future.done():
                            future.set_result(reply)
        except BaseException as exc:
            await self._exchange_failed(batch, done, exc, written=written, packed=packed)
        finally:
            if self._watch is not None:
                self._watch.cancel()
                self._watch = None

    def _expire(self, batch: list[Pending]) -> None:
        """Fail the callers of ``batch`` whose bound has passed; wake again for the next."""
        self._watch = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        error: rx.TimeoutError | None = None
        later = _NO_DEADLINE
        for _, future, deadline in batch:
            if future.done():
                continue
            if deadline > now:
                later = min(later, deadline)
                continue
            error = error or rx.TimeoutError(
                "Redis did not answer within the bound (connect_timeout + timeout)"
            )
            future.set_exception(fresh(error))
        if later < _NO_DEADLINE:
            self._watch = loop.call_at(later, self._expire, batch)

    async def _not_opened(self, batch: list[Pending], exc: BaseException) -> None:
        """The connection for ``batch`` could not be opened: ``batch`` fails (and the callers
        queued behind it, unless this round trip was cancelled)."""
        await self._link.drop()
        if isinstance(exc, asyncio.CancelledError):
            stopped = closed() if self._closed else rx.ConnectionError("the pipeline was stopped")
            self._fail(batch, stopped)
            raise exc
        if not isinstance(exc, Exception):
            raise exc
        if isinstance(exc, TimeoutError):
            exc = rx.TimeoutError("Redis did not open a connection within connect_timeout")
        self._fail([*batch, *self._take_queue()], closed() if self._closed else exc)

    async def _exchange_failed(
        self,
        batch: list[Pending],
        done: int,
        exc: BaseException,
        *,
        written: bool,
        packed: list[bytes],
    ) -> None:
        """The round trip of ``batch`` ended with ``exc`` after ``done`` replies: drop the
        connection and fail what is left (re-raising a cancellation)."""
        await self._link.drop()
        if isinstance(exc, asyncio.CancelledError):
            stopped = closed() if self._closed else rx.ConnectionError("the pipeline was stopped")
            self._fail(batch[done:], stopped)
            raise exc
        if not isinstance(exc, Exception):
            raise exc
        if self._closed:
            self._fail([*batch[done:], *self._take_queue()], closed())
        elif isinstance(exc, TimeoutError):
            # The callers queued behind this round trip fail with it (one incident): the
            # server does not answer, and each would otherwise wait a timeout of its own.
            self._fail(
                [*batch[done:], *self._take_queue()],
                rx.TimeoutError("Redis did not answer within the timeout"),
            )
        elif not written and isinstance(exc, rx.ConnectionError) and _size(packed) > _LARGE:
            # A server resets the connection while it is still receiving a value it refuses
            # (over its proto-max-bulk-len): the call fails alone, as refused, and the calls
            # queued behind it carry on.
            self._fail(batch, refused(_size(packed), exc))
        else:
            # A dropped or refused connection (redis-py has closed it), or anything else.
            self._fail([*batch[done:], *self._take_queue()], exc)

    def _take_queue(self) -> list[Pending]:
        queued, self._queue = self._queue, []
        return queued

    @staticmethod
    def _fail(pending: list[Pending], error: BaseException) -> None:
        for _, future, _ in pending:
            if not future.done():
                future.set_exception(fresh(error))

    async def aclose(self) -> None:
        """Stop the writer task (failing what is still queued) and release the connection."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail(self._queue, closed())
        self._queue = []
        if not self._leading:  # else the leader releases it when its round trip ends
            await self._link.release()
