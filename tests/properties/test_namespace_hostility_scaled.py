"""The namespace test of tests/properties/test_namespace_hostility.py on the Redis Cluster
adapter, both faces: with any prefix, get_many, delete_pattern, count_pattern and flush never
read, count or remove a key outside the namespace.

Foreign keys are written straight to the cluster, spread over many slots and over every
primary: the near-misses of tests/support/namespace_keys.py, and anchor keys chosen so that each
primary holds some.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from returns.result import Success

from cache_bridge.adapters.memory.redis_glob import glob_match
from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.engine import bytes_operations
from cache_bridge.testing import Harness, Harnesses
from cache_bridge.testing.redis_cluster import LocalCluster
from tests.support.cluster_store import ClusterStore
from tests.support.fuzz_values import hostile_text
from tests.support.namespace_keys import (
    FOREIGN_VALUE,
    foreign_keys,
    hostile_cases,
    inside_keys,
    patterns,
)


@pytest.fixture(params=["cluster-sync", "cluster-async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(cluster_url: str, cluster_servers: LocalCluster) -> Iterator[ClusterStore]:
    made = ClusterStore(cluster_servers)
    try:
        yield made
    finally:
        made.reset({})
        made.close()


@pytest.fixture
def make(face: str, cluster_url: str) -> Iterator[Harnesses]:
    cls = SyncRedisClusterCache if face == "cluster-sync" else RedisClusterCache
    with Harnesses(functools.partial(cls, cluster_url), face) as harnesses:
        yield harnesses


def _anchors(store: ClusterStore) -> list[str]:
    """Foreign keys in 12 slots, at least two on every primary."""
    ports = [int(c.connection_pool.connection_kwargs["port"]) for c in store.clients]
    chosen: list[str] = []
    for port in ports:
        on_it = [k for k in (f"anchor:{i}" for i in range(500)) if store.port_of(k) == port]
        chosen += on_it[:4]
    assert {store.port_of(k) for k in chosen} == set(ports)
    return chosen


Call = tuple[str, Any]
calls = st.one_of(
    st.tuples(st.just("get_many"), st.lists(inside_keys | hostile_text, max_size=4)),
    st.tuples(st.just("delete_pattern"), patterns),
    st.tuples(st.just("count_pattern"), patterns),
    st.tuples(st.just("flush"), st.none()),
)


def _run(harness: Harness, name: str, arg: Any) -> Any:
    if name == "count_pattern":
        ns = harness.adapter.keyspace  # type: ignore[union-attr]
        return harness.run_operation(bytes_operations.count_pattern(ns, arg))
    if name == "flush":
        return harness.flush()
    return getattr(harness, name)(arg)


@pytest.mark.redis
def test_no_operation_reaches_outside_the_prefix_on_any_primary(
    make: Harnesses, store: ClusterStore
) -> None:
    anchors = _anchors(store)
    made: dict[str, Harness] = {}

    @hypothesis_settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(**hostile_cases, steps=st.lists(calls, min_size=1, max_size=4))
    def run(prefix: str, extra: list[str], inside: list[str], steps: list[Call]) -> None:
        if prefix not in made:
            made[prefix] = make(key_prefix=prefix)
        harness = made[prefix]
        near = [f"{prefix}{i}:k" for i in range(6)]  # beside the prefix, in other slots
        foreign = sorted({*foreign_keys(prefix, [*extra, *anchors]), *near})
        foreign = [k for k in foreign if not k.startswith(prefix + ":")]
        ours = {f"{prefix}:{k}": f"ours:{k}" for k in inside}
        store.reset({**dict.fromkeys(foreign, FOREIGN_VALUE), **ours})
        for name, arg in steps:
            before = store.all_keys() - set(foreign)
            result = _run(harness, name, arg)
            assert store.values(foreign) == [FOREIGN_VALUE] * len(foreign), (name, arg)
            match name, result:
                case "get_many", Success(found):
                    assert FOREIGN_VALUE not in found.values()
                case (("count_pattern" | "delete_pattern"), Success(count)):
                    full = harness.adapter.keyspace.pattern(arg)  # type: ignore[union-attr]
                    matching = {k for k in before if glob_match(full.encode(), k.encode())}
                    assert count == len(matching), (name, arg)
                case "flush", Success():
                    assert store.all_keys() == set(foreign)

    run()


@pytest.mark.redis
def test_the_anchors_would_show_a_reach_outside_the_prefix(
    cluster_url: str, store: ClusterStore
) -> None:
    """The check can fail: without a prefix, flush removes the anchors on every primary."""
    anchors = _anchors(store)
    store.reset(dict.fromkeys(anchors, FOREIGN_VALUE))
    with SyncRedisClusterCache(cluster_url) as cache:
        assert cache.get_many(anchors) == Success(dict.fromkeys(anchors, FOREIGN_VALUE))
        assert cache.flush() == Success(None)
    assert store.values(anchors) == [None] * len(anchors)
