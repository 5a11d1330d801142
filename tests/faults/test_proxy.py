"""The FaultProxy itself, with raw sockets against a live redis-server: the counters the fault
tests rely on count, and each fault does what it says."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy

pytestmark = pytest.mark.redis


def _connect(proxy: FaultProxy, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection((proxy.host, proxy.port), timeout=timeout)


def _ping(conn: socket.socket) -> bytes:
    conn.sendall(b"PING\r\n")
    return conn.recv(64)


def _new_connection_is_reset(proxy: FaultProxy) -> bool:
    """Whether a new connection meets a TCP reset, at connect or at first use."""
    try:
        conn = _connect(proxy)
    except ConnectionResetError:
        return True
    with conn:
        return _was_reset(conn)


def _was_reset(conn: socket.socket) -> bool:
    """Whether using ``conn`` meets a TCP reset (``False``: an orderly close, or answers)."""
    try:
        for _ in range(10):  # a reset may surface on the send or on the receive
            conn.sendall(b"PING\r\n")
            if not conn.recv(64):
                return False
            time.sleep(0.02)
    except (ConnectionResetError, BrokenPipeError):
        return True
    return False


def test_pass_through_counts_connections_and_bytes(proxy: FaultProxy) -> None:
    assert proxy.traffic().accepted == 0
    with _connect(proxy) as conn:
        assert _ping(conn) == b"+PONG\r\n"
        value = b"x" * 5000
        conn.sendall(b"SET k %b\r\n" % value)
        assert conn.recv(64) == b"+OK\r\n"
    with _connect(proxy) as conn:
        assert _ping(conn) == b"+PONG\r\n"
    traffic = proxy.traffic()
    assert traffic.accepted == 2
    assert traffic.to_server == 2 * len(b"PING\r\n") + len(b"SET k \r\n") + 5000
    assert traffic.to_client == 2 * len(b"+PONG\r\n") + len(b"+OK\r\n")
    proxy.reset_counters()
    assert proxy.traffic().total_bytes == 0


def test_reset_all_aborts_open_connections(proxy: FaultProxy) -> None:
    conn = _connect(proxy)
    assert _ping(conn) == b"+PONG\r\n"
    assert proxy.reset_all() == 1
    assert _was_reset(conn)
    conn.close()
    with _connect(proxy) as again:  # later connections are forwarded as usual
        assert _ping(again) == b"+PONG\r\n"


def test_refuse_new_resets_each_new_connection(proxy: FaultProxy) -> None:
    proxy.refuse_new()
    assert _new_connection_is_reset(proxy)
    proxy.restore()
    with _connect(proxy) as conn:
        assert _ping(conn) == b"+PONG\r\n"


def test_blackhole_holds_old_and_new_connections_until_restored(proxy: FaultProxy) -> None:
    old = _connect(proxy, timeout=0.2)
    assert _ping(old) == b"+PONG\r\n"
    proxy.blackhole()
    before = proxy.traffic()
    new = _connect(proxy, timeout=0.2)  # accepted, never answered
    for conn in (old, new):
        conn.sendall(b"PING\r\n")
        with pytest.raises(TimeoutError):
            conn.recv(64)
    assert proxy.traffic().total_bytes == before.total_bytes
    assert proxy.traffic().accepted == before.accepted + 1
    proxy.restore()  # what was sent meanwhile is delivered now
    for conn in (old, new):
        conn.settimeout(2.0)
        assert conn.recv(64) == b"+PONG\r\n"
        conn.close()


def test_latency_delays_every_reply(proxy: FaultProxy) -> None:
    proxy.latency = 0.2
    with _connect(proxy) as conn:
        started = time.monotonic()
        assert _ping(conn) == b"+PONG\r\n"
        assert time.monotonic() - started >= 0.2


def test_a_dead_upstream_resets_the_client(server: FaultyRedisServer, proxy: FaultProxy) -> None:
    server.kill()
    assert _new_connection_is_reset(proxy)


def test_stop_is_bounded_with_connections_held(server: FaultyRedisServer) -> None:
    proxy = FaultProxy("127.0.0.1", server.port).start()
    held = [_connect(proxy) for _ in range(5)]
    proxy.blackhole()
    held.append(_connect(proxy))
    started = time.monotonic()
    proxy.stop(wait=2.0)
    assert time.monotonic() - started < 3.0
    assert proxy.open_connections == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("fault-proxy")]
    for conn in held:
        conn.close()


def test_chunk_size_trickles_a_reply_in_pieces(proxy: FaultProxy) -> None:
    with _connect(proxy) as conn:
        value = b"x" * 300
        conn.sendall(b"SET k %b\r\n" % value)
        assert conn.recv(64) == b"+OK\r\n"
        proxy.chunk_size, proxy.latency = 100, 0.05
        before = proxy.traffic().to_client
        conn.sendall(b"GET k\r\n")
        pieces: list[bytes] = []
        expected = b"$300\r\n" + value + b"\r\n"
        while sum(map(len, pieces)) < len(expected):
            pieces.append(conn.recv(4096))
        assert b"".join(pieces) == expected
        # No piece was larger than the chunk size, and the reply needed several of them.
        assert max(map(len, pieces)) <= 100
        assert len(pieces) >= len(expected) // 100
        assert proxy.traffic().to_client - before == len(expected)
