"""Every protocol method of every adapter and face, called with hostile arguments.

Each example resets the store to a known state (keys inside the adapter's namespace, with and
without expiries, and foreign keys outside it), calls one method and checks that a Result
came back; a Failure must be a :class:`CacheError` naming the operation, of a kind bad input
may cause, and the whole store (every key, value and expiry) must be as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from cache_bridge.adapters.memory import MemoryStore, SyncInMemoryCache
from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.engine.commands import FlushDb, Set
from cache_bridge.errors import (
    CacheError,
    CacheInvalidArgumentError,
    CacheSerializationError,
    CacheValueError,
)
from cache_bridge.testing import Harness
from tests.support.fuzz_values import anything, hashables, hostile_text, huge_text, numbers
from tests.support.store_snapshots import Snapshot, memory_snapshot, redis_snapshot

#: A namespace full of glob characters, so that a pattern built without escaping shows.
PREFIX = "fz[*]?\\"
#: Keys the examples start with, inside the namespace: text, a counter with an expiry, JSON.
SEED = {"a": ("text", None), "n": ("5", 1000), "j": ('{"x":[1]}', None), "a:b": ("x", 500)}
#: Keys outside the namespace, some of which look like they could be inside it.
FOREIGN = {"a": "foreign", "fz:a": "foreign", "fz[*]?\\": "foreign", "fz[*]?\\a": "f"}
#: The kinds of Failure that bad arguments may cause on a working store.
BAD_INPUT = (CacheInvalidArgumentError, CacheSerializationError, CacheValueError)
READS = {"get", "get_json", "exists", "ttl", "get_many", "ping"}

# Arguments: mostly hostile, often one of the seeded keys so that writes would land on data.
keys = st.sampled_from([*SEED, "missing"]) | hostile_text | huge_text | anything
texts = hostile_text | huge_text | anything
ttls = st.none() | st.integers(-2, 2000) | numbers | anything
key_lists = (
    st.lists(st.sampled_from([*SEED, "missing"]) | hostile_text, max_size=5)
    | st.lists(keys, max_size=3)
    | anything
)
mappings = (
    st.dictionaries(st.sampled_from([*SEED, "new"]) | hashables, texts, max_size=4)
    | st.dictionaries(st.sampled_from([*SEED, "new"]), hostile_text, max_size=3)
    | anything
)
json_objects = (
    st.dictionaries(
        hostile_text,
        st.recursive(
            hashables, lambda c: st.lists(c) | st.dictionaries(hostile_text, c), max_leaves=6
        ),
        max_size=3,
    )
    | anything
)
patterns = st.sampled_from(["*", "a*", "[", "[^a]*", "\\", "?", "**", "\\*", "*]"]) | texts

CALLS: dict[str, list[st.SearchStrategy[Any]]] = {
    "get": [keys],
    "get_json": [keys],
    "set": [keys, texts, ttls],
    "set_json": [keys, json_objects, ttls],
    "delete": [keys],
    "exists": [keys],
    "expire": [keys, ttls],
    "ttl": [keys],
    "increment": [keys, numbers | anything],
    "decrement": [keys, numbers | anything],
    "get_many": [key_lists],
    "set_many": [mappings, ttls],
    "delete_pattern": [patterns],
    "flush": [],
    "ping": [],
}
#: Methods whose last argument has a default: they are also called without it.
OPTIONAL_LAST = {"set", "set_json", "increment", "decrement", "set_many"}


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, tuple[Any, ...]]:
    name = draw(st.sampled_from(sorted(CALLS)))
    args = tuple(draw(arg) for arg in CALLS[name])
    if name in OPTIONAL_LAST and draw(st.booleans()):
        args = args[:-1]
    return name, args


class MemoryState:
    """Resets and reads a whole in-memory store."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def reset(self) -> None:
        self.store.execute(FlushDb())
        for key, (value, ttl) in SEED.items():
            full = f"{PREFIX}:{key}"
            self.store.execute(Set(full, value, value.encode(), ttl))
        for key, value in FOREIGN.items():
            self.store.execute(Set(key, value, value.encode(), None))

    def snapshot(self) -> Snapshot:
        return memory_snapshot(self.store)


class RedisState:
    """Resets and reads a whole (test-owned) Redis database: key, DUMP and absolute expiry."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def reset(self) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.flushdb()
            for key, (value, ttl) in SEED.items():
                pipe.set(f"{PREFIX}:{key}", value, ex=ttl)
            for key, value in FOREIGN.items():
                pipe.set(key, value)
            pipe.execute()

    def snapshot(self) -> Snapshot:
        return redis_snapshot(self.client)


State = MemoryState | RedisState


def _state(harness: Harness, backend: str, request: pytest.FixtureRequest) -> State:
    if backend.startswith("memory"):
        return MemoryState(harness.adapter.store)  # type: ignore[union-attr]
    return RedisState(request.getfixturevalue("redis_client"))


def check_outcome(
    result: Any, name: str, args: tuple[Any, ...], before: Snapshot, after: Snapshot
) -> None:
    """The rules every call must keep, whatever its arguments."""
    assert isinstance(result, Success | Failure), f"{name} returned {type(result).__name__}"
    if isinstance(result, Success):
        if name in READS:
            assert after == before, f"{name} changed the store"
        return
    error = result.failure()
    assert isinstance(error, CacheError)
    # An argument whose own methods raise (fuzz_values.RaisingDict) gives a plain CacheError
    # carrying that exception: still a Failure, and still nothing written.
    hostile = type(error) is CacheError and "hostile" in error.message
    assert hostile or isinstance(error, BAD_INPUT), (
        f"{name}{args!r:.200} failed with {error!r:.300}"
    )
    assert error.operation == name
    assert error.key is None or error.key == args[0]
    assert str(error)
    assert repr(error)
    assert after == before, f"{name} failed with {error!r:.200} but changed the store"


@pytest.mark.redis
def test_every_method_returns_a_result_and_fails_without_writing(
    make_cache: Callable[..., Harness], backend: str, request: pytest.FixtureRequest
) -> None:
    harness = make_cache(key_prefix=PREFIX)
    state = _state(harness, backend, request)

    @settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(call=calls())
    def run(call: tuple[str, tuple[Any, ...]]) -> None:
        name, args = call
        state.reset()
        before = state.snapshot()
        result = getattr(harness, name)(*args)
        check_outcome(result, name, args, before, state.snapshot())
        seen.add((name, type(result).__name__))
        count.append(name)

    count: list[str] = []
    seen: set[tuple[str, str]] = set()
    run()
    # The examples reached every method, and each one both ways where it can fail.
    assert {name for name, _ in seen} == set(CALLS)
    assert {kind for _, kind in seen} == {"Success", "Failure"}
    assert len(count) >= 100


def _outcome(result: Result[Any, Any]) -> tuple[str, Any]:
    match result:
        case Success(value):
            return "success", value
        case Failure(error):
            return "failure", type(error)
    raise AssertionError(f"not a Result: {result!r}")  # pragma: no cover


@pytest.mark.redis
def test_memory_and_redis_answer_hostile_calls_alike(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """The same call on the same data gives the same outcome on both stores."""
    store = MemoryStore(10_000, time.time)
    memory = SyncInMemoryCache(store=store, key_prefix=PREFIX)
    remote = SyncRedisCache(redis_url, key_prefix=PREFIX)
    states: tuple[State, State] = (MemoryState(store), RedisState(redis_client))

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(call=calls())
    def run(call: tuple[str, tuple[Any, ...]]) -> None:
        name, args = call
        outcomes = []
        for adapter, state in zip((memory, remote), states, strict=True):
            state.reset()
            outcomes.append(_outcome(getattr(adapter, name)(*args)))
        assert outcomes[0] == outcomes[1], f"{name}{args!r:.200}"

    try:
        run()
    finally:
        remote.close()


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["memory-sync", "redis-sync"])
def test_the_snapshot_sees_every_kind_of_write(
    make_cache: Callable[..., Harness], backend: str, request: pytest.FixtureRequest
) -> None:
    """The fuzz test's "nothing written" check can fail: each kind of write changes it."""
    harness = make_cache(key_prefix=PREFIX)
    state = _state(harness, backend, request)
    writes: list[Callable[[], Any]] = [
        lambda: harness.set("a", "changed"),
        lambda: harness.set("n", "5"),  # same value, expiry cleared
        lambda: harness.expire("a", 10),
        lambda: harness.set("new", "x"),
        lambda: harness.delete("j"),
    ]
    for write in writes:
        state.reset()
        before = state.snapshot()
        assert isinstance(write(), Success)
        assert state.snapshot() != before
