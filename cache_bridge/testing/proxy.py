"""A loopback TCP proxy that tests put between a client and a redis-server to make network
faults on demand: cut every connection (RST), go silent without closing (a half-open link:
connections stay up and new ones are accepted, but nothing is forwarded or answered), delay
every reply, or trickle replies in small pieces (a slow but working link). It counts accepted
connections and forwarded bytes, so a test can prove that a client did no socket work at all.

It runs on threads of its own, so it serves blocking and asyncio clients alike, and
:meth:`FaultProxy.stop` returns within a bounded time whatever the connections are doing.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from types import TracebackType

__all__ = ["FaultProxy", "Traffic"]

#: How often every proxy thread looks at its stop flag and the current mode (seconds).
_POLL = 0.02
_CHUNK = 65536
# How long a forwarding send may block on a peer that does not read before the link is cut.
_SEND_TIMEOUT = 5.0


@dataclass(frozen=True)
class Traffic:
    """What the proxy has seen since it started (or since :meth:`FaultProxy.reset_counters`)."""

    accepted: int
    to_server: int
    to_client: int

    @property
    def total_bytes(self) -> int:
        return self.to_server + self.to_client


def _abort(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset rather than an orderly FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Link:
    """One client connection and, once it is forwarded, its upstream connection."""

    def __init__(self, client: socket.socket, generation: int) -> None:
        self.client = client
        self.upstream: socket.socket | None = None
        self.generation = generation

    def abort(self) -> None:
        _abort(self.client)
        if self.upstream is not None:
            _abort(self.upstream)

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()


class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream_host:upstream_port`` until told otherwise.

    - :meth:`blackhole` / :meth:`restore`: stop / resume forwarding in both directions on every
      connection, existing and new, without closing any (new ones are accepted, never
      answered). Bytes a client sends meanwhile wait in the kernel and are forwarded on
      :meth:`restore`.
    - :meth:`reset_all`: abort every current connection with a TCP reset; later connections
      are forwarded normally.
    - :meth:`refuse_new` / :meth:`restore`: accept each new connection and reset it at once.
    - ``latency``: seconds added before each chunk the server sends is passed on.
    - ``chunk_size``: with a size in bytes, what the server sends is passed on in pieces of at
      most that size, ``latency`` before each (``chunk_size=65536, latency=0.3``: a large
      reply arrives 64 KiB every 0.3 s; ``chunk_size=1``: a byte at a time). ``0`` (the
      default) passes on whatever arrives as it arrived.
    - :meth:`traffic`: counters of accepted connections and forwarded bytes.
    """

    def __init__(
        self, upstream_host: str, upstream_port: int, *, listen_host: str = "127.0.0.1"
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((listen_host, 0), backlog=128)
        self.host = listen_host
        self.port: int = self._listener.getsockname()[1]
        self.latency = 0.0
        self.chunk_size = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._links: set[_Link] = set()
        self._threads: set[threading.Thread] = set()
        self._held = False
        self._refusing = False
        self._generation = 0
        self._accepted = 0
        self._to_server = 0
        self._to_client = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)

    # -- control -------------------------------------------------------------------------------

    def url(self, scheme: str = "redis", db: int = 0) -> str:
        return f"{scheme}://{self.host}:{self.port}/{db}"

    def start(self) -> FaultProxy:
        self._acceptor.start()
        return self

    def blackhole(self) -> None:
        """Stop forwarding anything, in either direction, without closing a connection.
        Returns once no chunk is being forwarded any more."""
        self._held = True
        time.sleep(3 * _POLL)  # every thread has looked at the flag since

    def refuse_new(self) -> None:
        """Reset each new connection as soon as it is accepted (existing ones carry on)."""
        self._refusing = True

    def restore(self) -> None:
        """Undo :meth:`blackhole` and :meth:`refuse_new`."""
        self._held = False
        self._refusing = False

    def reset_all(self, wait: float = 2.0) -> int:
        """Abort every connection open now with a TCP reset; return how many there were.
        Waits up to ``wait`` seconds for the proxy's threads to do it."""
        with self._lock:
            self._generation += 1
            doomed = [link for link in self._links if link.generation < self._generation]
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._lock:
                if not any(link in self._links for link in doomed):
                    break
            time.sleep(_POLL / 2)
        return len(doomed)

    def traffic(self) -> Traffic:
        with self._lock:
            return Traffic(self._accepted, self._to_server, self._to_client)

    def reset_counters(self) -> None:
        with self._lock:
            self._accepted = self._to_server = self._to_client = 0

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._links)

    def stop(self, wait: float = 2.0) -> None:
        """Close the listener and every connection; return within about ``wait`` seconds."""
        self._stop.set()
        deadline = time.monotonic() + wait
        if self._acceptor.is_alive():
            self._acceptor.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            leftovers, self._links = list(self._links), set()
        for link in leftovers:  # only if a thread missed the deadline
            link.close()
        with contextlib.suppress(OSError):
            self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- threads -------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._listener], [], [], _POLL)
                if not ready:
                    continue
                try:
                    client, _ = self._listener.accept()
                except OSError:
                    continue
                with self._lock:
                    self._accepted += 1
                if self._refusing:
                    _abort(client)
                    continue
                link = _Link(client, self._generation)
                thread = threading.Thread(
                    target=self._serve, args=(link,), name="fault-proxy-link", daemon=True
                )
                with self._lock:
                    self._links.add(link)
                    self._threads.add(thread)
                thread.start()
        finally:
            with contextlib.suppress(OSError):
                self._listener.close()

    def _doomed(self, link: _Link) -> bool:
        return self._stop.is_set() or link.generation < self._generation

    def _serve(self, link: _Link) -> None:
        try:
            self._forward(link)
        finally:
            if link.generation < self._generation:
                link.abort()
            else:
                link.close()
            with self._lock:
                self._links.discard(link)
                self._threads.discard(threading.current_thread())

    def _forward(self, link: _Link) -> None:
        # A held link is accepted but not even connected upstream until it is restored.
        while self._held:
            if self._doomed(link):
                return
            time.sleep(_POLL)
        try:
            upstream = socket.create_connection(self.upstream, timeout=_SEND_TIMEOUT)
        except OSError:
            link.generation = -1  # reset the client, as a dead server's port would
            return
        link.upstream = upstream
        link.client.settimeout(_SEND_TIMEOUT)
        peers = {link.client: upstream, upstream: link.client}
        while not self._doomed(link):
            if self._held:
                time.sleep(_POLL)
                continue
            ready, _, _ = select.select(list(peers), [], [], _POLL)
            if self._held:
                continue  # held while waiting: leave the bytes in the kernel
            for source in ready:
                try:
                    data = source.recv(_CHUNK)
                except OSError:
                    return
                if not data:
                    return
                if not self._pass_on(link, data, source is upstream, peers[source]):
                    return

    def _pass_on(self, link: _Link, data: bytes, from_server: bool, to: socket.socket) -> bool:
        """Send ``data`` on (in pieces, each after ``latency``, when it comes from the server);
        ``False`` if the link ended meanwhile."""
        size = self.chunk_size if from_server and self.chunk_size > 0 else len(data)
        for start in range(0, len(data), size):
            piece = data[start : start + size]
            delayed = from_server and self.latency > 0
            if delayed and (self._stop.wait(self.latency) or self._doomed(link)):
                return False
            # Counted before it is sent: whoever receives it sees the counters include it.
            with self._lock:
                if from_server:
                    self._to_client += len(piece)
                else:
                    self._to_server += len(piece)
            try:
                to.sendall(piece)
            except OSError:
                return False
        return True
