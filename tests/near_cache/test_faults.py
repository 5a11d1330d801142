"""Faults of the invalidation connection and the server, on both faces: after a dropped or
silent invalidation connection, or a server restart, no read is served stale."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from returns.result import Success

from cache_bridge import RedisCache, SyncRedisCache
from cache_bridge.testing import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy
from tests.near_cache.faces import Face

FACES: dict[str, type[SyncRedisCache] | type[RedisCache]] = {
    "sync": SyncRedisCache,
    "async": RedisCache,
}


@pytest.fixture
def hurt() -> Iterator[tuple[FaultyRedisServer, FaultProxy]]:
    server = FaultyRedisServer()
    try:
        server.start()
        with FaultProxy("127.0.0.1", server.port) as proxy:
            yield server, proxy
    finally:
        server.cleanup()


@pytest.mark.parametrize("kind", list(FACES))
async def test_no_stale_read_after_the_invalidation_connection_drops(
    hurt: tuple[FaultyRedisServer, FaultProxy], kind: str
) -> None:
    server, proxy = hurt
    face = await Face(FACES[kind](proxy.url(), near_cache=True)).ready()
    direct = redis.Redis(port=server.port)
    for i in range(20):
        direct.set("k", f"old{i}")
        while await face.read_until_success("k") != f"old{i}":  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        assert await face.served_locally("get", "k") == Success(f"old{i}")  # cached now
        proxy.reset_all()  # every push in flight is lost
        direct.set("k", f"new{i}")
        assert await face.read_until_success("k") == f"new{i}"
        await face.ready()
    assert face.near.stats()["resets"] >= 20
    direct.close()
    await face.close()


@pytest.mark.parametrize("kind", list(FACES))
async def test_no_stale_read_after_a_silent_invalidation_connection(
    hurt: tuple[FaultyRedisServer, FaultProxy], kind: str
) -> None:
    server, proxy = hurt
    face = await Face(FACES[kind](proxy.url(), near_cache=True, timeout=0.3)).ready()
    direct = redis.Redis(port=server.port)
    assert await face.call("set", "k", "old") == Success(None)
    assert await face.served_locally("get", "k") == Success("old")
    proxy.blackhole()  # nothing crosses, nothing closes: the push below is lost
    direct.set("k", "new")
    await asyncio.sleep(0.4)  # past max_silence (the timeout)
    assert await face.call("get", "k") != Success("old")
    proxy.restore()
    assert await face.read_until_success("k") == "new"
    direct.close()
    await face.close()


@pytest.mark.parametrize("kind", list(FACES))
async def test_no_stale_read_after_a_server_restart(
    hurt: tuple[FaultyRedisServer, FaultProxy], kind: str
) -> None:
    server, _ = hurt
    url = f"redis://127.0.0.1:{server.port}/0"
    face = await Face(FACES[kind](url, near_cache=True)).ready()
    assert await face.call("set", "k", "before") == Success(None)
    assert await face.served_locally("get", "k") == Success("before")
    server.kill()
    server.start()  # empty: "k" is gone
    assert await face.read_until_success("k") is None
    assert await face.call("exists", "k") == Success(False)
    assert await face.call("ttl", "k") == Success(None)
    await face.close()
