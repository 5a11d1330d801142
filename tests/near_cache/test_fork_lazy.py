"""A forked child (a pre-forking server's worker) makes no invalidation connection and no thread
until it reads through its near cache, and closes its copy of the parent's tracking socket at
the fork without sending anything on it: the parent keeps tracking."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

import pytest
import redis
from returns.result import Success

from cache_bridge import SyncRedisCache


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def _tracking_clients(client: redis.Redis) -> list[str]:
    """The server's tracking connections, by their address (``host:port``)."""
    return [entry["addr"] for entry in client.client_list() if "t" in entry["flags"]]


def _open_socket_to(port: int) -> bool:
    """Whether this process holds an open socket whose local port is ``port``."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if sock.getsockname()[1] == port:
                return True
        except OSError:
            pass
        finally:
            sock.close()
    return False


def _child(cache: SyncRedisCache, url: str, parents_port: int) -> int:
    if _open_socket_to(parents_port):
        return 1  # the parent's tracking socket was inherited and left open
    if any(thread.name == "near-cache-tracking" for thread in threading.enumerate()):
        return 2  # a thread (and a connection) for a worker that may never use the cache
    other = redis.Redis.from_url(url)
    if len(_tracking_clients(other)) != 1:
        return 3
    if cache.get("k") != Success("v"):  # the first read starts the child's own tracking
        return 4
    near = cache.near_cache
    assert near is not None
    deadline = time.monotonic() + 10
    while not near.ready or len(_tracking_clients(other)) != 2:
        if time.monotonic() > deadline:
            return 5
        cache.get("k")
        time.sleep(0.005)
    other.set("k", "changed in the child")
    while cache.get("k") != Success("changed in the child"):
        if time.monotonic() > deadline:
            return 6
        time.sleep(0.005)
    return 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd (Linux)")
def test_a_forked_child_tracks_only_once_it_reads_and_closes_the_parents_socket(
    redis_client: redis.Redis, redis_url: str
) -> None:
    cache = SyncRedisCache(redis_url, near_cache=True)
    near = cache.near_cache
    assert near is not None
    _until(lambda: near.ready, "tracking in the parent")
    cache.set("k", "v")
    (address,) = _tracking_clients(redis_client)
    parents_port = int(address.rsplit(":", 1)[1])
    assert _open_socket_to(parents_port)  # (the check sees the parent's socket)
    pid = os.fork()
    if pid == 0:  # the child
        code = 99
        try:
            code = _child(cache, redis_url, parents_port)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the parent's tracking connection is the same one, still tracking
    _until(lambda: _tracking_clients(redis_client) == [address], "the child's connection gone")
    assert near.ready
    redis_client.set("k", "changed by another client")
    _until(lambda: cache.get("k") == Success("changed by another client"), "the parent tracks")
    cache.close()
