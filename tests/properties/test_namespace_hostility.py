"""No operation of an adapter with a key prefix reads, counts, deletes or flushes a key outside
its namespace, whatever the prefix (glob characters, ':'), the keys and the patterns.

Foreign keys are written below the adapter (straight to the test Redis, or into the same
in-memory store): keys that the prefix would match if its glob characters were not escaped,
the prefix without its ':', other prefixes, and keys hypothesis makes up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from returns.result import Success

from cache_bridge.adapters.memory import MemoryStore, SyncInMemoryCache
from cache_bridge.adapters.memory.redis_glob import glob_match
from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.engine import bytes_operations
from cache_bridge.engine.commands import FlushDb, Get, Set
from cache_bridge.errors import ConfigurationError
from cache_bridge.testing import Harness
from tests.support.fuzz_values import hostile_text
from tests.support.namespace_keys import (
    FOREIGN_VALUE,
    HOSTILE_PREFIXES,
    foreign_keys,
    framework_patterns,
    hostile_cases,
    inside_keys,
    patterns,
)


class Store:
    """Raw access to the whole store below an adapter."""

    def __init__(self, memory: MemoryStore | None, client: redis.Redis | None) -> None:
        self.memory = memory
        self.client = client

    def reset(self, entries: dict[str, str]) -> None:
        if self.memory is not None:
            self.memory.execute(FlushDb())
            for key, value in entries.items():
                self.memory.execute(Set(key, value, value.encode(), None))
            return
        assert self.client is not None
        with self.client.pipeline(transaction=False) as pipe:
            pipe.flushdb()
            if entries:
                pipe.mset(entries)
            pipe.execute()

    def values(self, keys: list[str]) -> list[str | None]:
        if self.memory is not None:
            return [self.memory.execute(Get(k)) for k in keys]
        assert self.client is not None
        found = self.client.mget(keys) if keys else []
        return [v.decode() if isinstance(v, bytes) else v for v in found]

    def all_keys(self) -> set[str]:
        if self.memory is not None:
            return set(self.memory._entries)
        assert self.client is not None
        return {k.decode() for k in self.client.scan_iter(count=1000)}


@pytest.fixture
def store_of(backend: str, request: pytest.FixtureRequest) -> Callable[[Harness], Store]:
    def make(harness: Harness) -> Store:
        if backend.startswith("memory"):
            return Store(harness.adapter.store, None)  # type: ignore[union-attr]
        return Store(None, request.getfixturevalue("redis_client"))

    return make


Call = tuple[str, Any]
calls = st.one_of(
    st.tuples(st.just("get"), inside_keys | hostile_text),
    st.tuples(st.just("exists"), inside_keys | hostile_text),
    st.tuples(st.just("delete"), inside_keys | hostile_text),
    st.tuples(st.just("get_many"), st.lists(inside_keys | hostile_text, max_size=4)),
    st.tuples(st.just("delete_many"), st.lists(inside_keys | hostile_text, max_size=4)),
    st.tuples(st.just("delete_pattern"), patterns),
    st.tuples(st.just("count_pattern"), patterns),
    st.tuples(st.just("flush"), st.none()),
)


def _run(harness: Harness, name: str, arg: Any) -> Any:
    ns = harness.adapter.keyspace  # type: ignore[union-attr]
    if name == "count_pattern":
        return harness.run_operation(bytes_operations.count_pattern(ns, arg))
    if name == "delete_many":
        return harness.run_operation(bytes_operations.delete_many(ns, arg))
    if name == "flush":
        return harness.flush()
    return getattr(harness, name)(arg)


def _matching(pattern: str, keys: set[str]) -> set[str]:
    return {k for k in keys if glob_match(pattern.encode(), k.encode())}


@pytest.mark.redis
def test_no_operation_reaches_outside_the_prefix(
    make_cache: Callable[..., Harness], store_of: Callable[[Harness], Store]
) -> None:
    made: dict[str, Harness] = {}

    def adapter_for(prefix: str) -> Harness:
        if prefix not in made:
            made[prefix] = make_cache(key_prefix=prefix)
        return made[prefix]

    @hypothesis_settings(
        max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(**hostile_cases, steps=st.lists(calls, min_size=1, max_size=4))
    def run(prefix: str, extra: list[str], inside: list[str], steps: list[Call]) -> None:
        harness = adapter_for(prefix)
        store = store_of(harness)
        foreign = foreign_keys(prefix, extra)
        ours = {f"{prefix}:{k}": f"ours:{k}" for k in inside}
        store.reset({**dict.fromkeys(foreign, FOREIGN_VALUE), **ours})
        for name, arg in steps:
            before = store.all_keys() - set(foreign)
            result = _run(harness, name, arg)
            assert store.values(foreign) == [FOREIGN_VALUE] * len(foreign), (name, arg)
            match name, result:
                case "get", Success(value):
                    assert value != FOREIGN_VALUE
                case "get_many", Success(found):
                    assert FOREIGN_VALUE not in found.values()
                case (("count_pattern" | "delete_pattern"), Success(count)):
                    full = harness.adapter.keyspace.pattern(arg)  # type: ignore[union-attr]
                    assert count == len(_matching(full, before)), (name, arg)
        store.reset({})

    run()


# -- with_prefix -------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [5, "\ud800", b"bytes"], ids=repr)
def test_with_prefix_checks_the_prefix_as_the_option_does(prefix: Any) -> None:
    with pytest.raises(ConfigurationError):
        SyncInMemoryCache(key_prefix=prefix)
    with pytest.raises(ConfigurationError):
        SyncInMemoryCache().with_prefix(prefix)


@pytest.mark.redis
def test_with_prefix_faces_stay_in_their_namespace(
    redis_url: str, redis_client: redis.Redis
) -> None:
    redis_client.mset({"ab:k": FOREIGN_VALUE, "a*": FOREIGN_VALUE, "base:k": FOREIGN_VALUE})
    with SyncRedisCache(redis_url, key_prefix="base") as base:
        face = base.with_prefix("a*")
        assert face.set("k", "mine") == Success(None)
        assert face.get_many(["k"]) == Success({"k": "mine"})
        assert face.delete_pattern("*") == Success(1)
        assert face.flush() == Success(None)
    assert redis_client.mget(["ab:k", "a*", "base:k"]) == [FOREIGN_VALUE.encode()] * 3


# -- the frameworks ------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("prefix", HOSTILE_PREFIXES)
def test_flask_invalidate_all_and_cli_flush_stay_in_the_namespace(
    location: str, prefix: str
) -> None:
    from flask import Flask

    from flask_cache_bridge import CacheBridge

    app = Flask("namespaces")
    app.config.update(CACHE_BRIDGE_URL=location, CACHE_BRIDGE_KEY_PREFIX=prefix)
    bridge = CacheBridge(app)
    adapter = app.extensions["cache_bridge"].adapter
    memory = adapter.store if isinstance(adapter, SyncInMemoryCache) else None
    client = None if memory is not None else redis.Redis.from_url(location)
    foreign = foreign_keys(prefix, ["view:x", prefix + "view:x"])
    store = Store(memory, client)
    runner = app.test_cli_runner()

    def reset() -> None:
        store.reset(
            {**dict.fromkeys(foreign, FOREIGN_VALUE), f"{prefix}:a": "ours", f"{prefix}:b*": "ours"}
        )

    def survived() -> None:
        assert store.values(foreign) == [FOREIGN_VALUE] * len(foreign)

    reset()
    with app.app_context():
        assert isinstance(bridge.invalidate_all(), Success)
    survived()

    @hypothesis_settings(max_examples=25, deadline=None)
    @given(pattern=framework_patterns)
    def run(pattern: str) -> None:
        reset()
        runner.invoke(args=["cache", "flush", "--pattern", pattern, "--dry-run"])
        runner.invoke(args=["cache", "flush", "--pattern", pattern, "--yes"])
        survived()

    run()
    reset()
    result = runner.invoke(args=["cache", "flush", "--yes"])
    assert result.exit_code == 0, result.output
    survived()
    assert store.all_keys() == set(foreign)
    bridge.close(app)
    if client is not None:
        client.close()
