"""Protocol operations on cache_bridge's Redis adapters against raw redis-py doing the same
commands, blocking and asyncio, and 50 concurrent tasks on one async client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
from returns.result import Failure

from bench.harness import Case, Group
from bench.sizes import Sizes
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache

__all__ = ["Clients", "protocol_groups"]

VALUE = "v" * 64
TTL = 300
RAW = "raw redis-py"
OURS = "cache_bridge"


class Clients:
    """Every client the protocol groups use, on one server and one event loop."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.loop = loop
        self.raw = redis.Redis.from_url(url)
        self.ours = SyncRedisCache(url, key_prefix="b")
        self.araw = redis.asyncio.Redis.from_url(url)
        self.aours = RedisCache(url, key_prefix="b")
        # The same adapter without automatic pipelining: the "before" of that optimisation.
        self.aours_plain = RedisCache(url, key_prefix="b", pipelining=False)
        self.araw_pool = redis.asyncio.Redis.from_url(url, max_connections=50)

    def close(self) -> None:
        self.raw.close()
        self.ours.close()

        async def aclose() -> None:
            await self.araw.aclose()
            await self.araw_pool.aclose()
            await self.aours.aclose()
            await self.aours_plain.aclose()

        self.loop.run_until_complete(aclose())


def _check(result: Any) -> Any:
    # A Failure would make the numbers meaningless: stop at once.
    if isinstance(result, Failure):
        raise RuntimeError(f"benchmark call failed: {result.failure()}")
    return result


def _seed(c: Clients, many: int) -> tuple[list[str], dict[str, str]]:
    keys = [f"m:{i}" for i in range(many)]
    mapping = dict.fromkeys(keys, VALUE)
    c.raw.set("b:k", VALUE)
    c.raw.set("b:n", 0)
    c.raw.mset({f"b:{k}": VALUE for k in keys})
    return keys, mapping


def _sync_groups(c: Clients, s: Sizes) -> list[Group]:
    keys, mapping = _seed(c, s.many)
    raw_keys = [f"b:{k}" for k in keys]
    raw, ours = c.raw, c.ours

    def raw_set_many() -> None:
        with raw.pipeline() as pipe:
            for k in raw_keys:
                pipe.set(k, VALUE, ex=TTL)
            pipe.execute()

    def g(name: str, n: int, r: Callable[[], Any], o: Callable[[], Any]) -> Group:
        return Group(name, "protocol, blocking", RAW, [Case(RAW, r), Case(OURS, o)], n)

    return [
        g("get", s.single, lambda: raw.get("b:k"), lambda: _check(ours.get("k"))),
        g(
            "set (ttl)",
            s.single,
            lambda: raw.set("b:k", VALUE, ex=TTL),
            lambda: _check(ours.set("k", VALUE, ttl=TTL)),
        ),
        g("increment", s.single, lambda: raw.incr("b:n"), lambda: _check(ours.increment("n"))),
        g(
            f"get_many({s.many})",
            s.batch,
            lambda: raw.mget(raw_keys),
            lambda: _check(ours.get_many(keys)),
        ),
        g(
            f"set_many({s.many}, ttl)",
            s.batch,
            raw_set_many,
            lambda: _check(ours.set_many(mapping, ttl=TTL)),
        ),
    ]


def _async_groups(c: Clients, s: Sizes) -> list[Group]:
    keys, mapping = _seed(c, s.many)
    raw_keys = [f"b:{k}" for k in keys]
    raw, ours, loop = c.araw, c.aours, c.loop

    async def raw_set_many() -> None:
        async with raw.pipeline() as pipe:
            for k in raw_keys:
                pipe.set(k, VALUE, ex=TTL)
            await pipe.execute()

    async def o_get() -> None:
        _check(await ours.get("k"))

    async def o_set() -> None:
        _check(await ours.set("k", VALUE, ttl=TTL))

    async def o_incr() -> None:
        _check(await ours.increment("n"))

    async def o_get_many() -> None:
        _check(await ours.get_many(keys))

    async def o_set_many() -> None:
        _check(await ours.set_many(mapping, ttl=TTL))

    def g(name: str, n: int, r: Callable[[], Any], o: Callable[[], Any]) -> Group:
        cases = [Case(RAW, r, loop=loop), Case(OURS, o, loop=loop)]
        return Group(name, "protocol, asyncio", RAW, cases, n)

    return [
        g("get", s.single, lambda: raw.get("b:k"), o_get),
        g("set (ttl)", s.single, lambda: raw.set("b:k", VALUE, ex=TTL), o_set),
        g("increment", s.single, lambda: raw.incr("b:n"), o_incr),
        g(f"get_many({s.many})", s.batch, lambda: raw.mget(raw_keys), o_get_many),
        g(f"set_many({s.many}, ttl)", s.batch, raw_set_many, o_set_many),
    ]


def _concurrent_group(c: Clients, s: Sizes) -> Group:
    raw, ours, plain, loop = c.araw_pool, c.aours, c.aours_plain, c.loop

    async def o_get() -> None:
        _check(await ours.get("k"))

    async def p_get() -> None:
        _check(await plain.get("k"))

    cases = [
        Case(RAW, lambda: raw.get("b:k"), loop=loop, tasks=50),
        Case(OURS, o_get, loop=loop, tasks=50),
        Case(f"{OURS} (pipelining off)", p_get, loop=loop, tasks=50),
    ]
    return Group(
        "get, 50 concurrent tasks",
        "protocol, asyncio",
        RAW,
        cases,
        s.concurrent,
        note="one client each; redis.asyncio with a pool of up to 50 connections",
    )


def _delete_groups(c: Clients, s: Sizes) -> list[Group]:
    raw, ours = c.raw, c.ours
    keys = [f"b:d:{i}" for i in range(s.delete_keys)]

    def fill() -> None:
        with raw.pipeline(transaction=False) as pipe:
            for start in range(0, len(keys), 1000):
                pipe.mset(dict.fromkeys(keys[start : start + 1000], "x"))
            pipe.execute()

    def scan_loop() -> None:
        for key in raw.scan_iter(match="b:d:*", count=1000):
            raw.delete(key)

    def ours_delete() -> None:
        removed = _check(ours.delete_pattern("d:*")).unwrap()
        if removed != len(keys):
            raise RuntimeError(f"delete_pattern removed {removed} of {len(keys)} keys")

    name = f"delete_pattern({s.delete_keys:,} keys)"
    cases = [
        Case("SCAN loop, DEL key by key", scan_loop, setup=fill),
        Case(OURS, ours_delete, setup=fill),
    ]
    return [Group(name, "protocol, blocking", "SCAN loop, DEL key by key", cases, s.delete_calls)]


def protocol_groups(c: Clients, s: Sizes) -> list[Group]:
    """Every protocol group, in report order."""
    return [
        *_sync_groups(c, s),
        *_async_groups(c, s),
        _concurrent_group(c, s),
        *_delete_groups(c, s),
    ]
