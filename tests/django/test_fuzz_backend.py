"""The Django backend's public methods, sync and async, called with hostile arguments.

Only the exceptions Django's cache contract allows may escape (``InvalidCacheKey`` for keys
no store takes, ``ValueError`` from ``incr`` on a missing key or a bad timeout, ``TypeError``
for arguments of the wrong type, the pickle module's errors for values that do not pickle),
and when one does, the store (every key, value and expiry) is exactly as it was.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache.backends.base import InvalidCacheKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django import Settings as SettingsWrapper

from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.errors import CacheError
from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import alias, bridge, plant_raw
from tests.support.fuzz_values import anything, hashables, hostile_text, huge_text, numbers
from tests.support.store_snapshots import Snapshot, memory_snapshot, redis_snapshot

pytestmark = [
    pytest.mark.filterwarnings("ignore::django.core.cache.CacheKeyWarning"),
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning"),
]

SEED_KEYS = ["a", "n", "obj", "gone"]
#: Stored keys of another alias and of nobody, which no call of this alias may touch.
FOREIGN = {"other:1:a": b"foreign", "sitewide": b"foreign", "site:1": b"foreign"}

keys = st.sampled_from([*SEED_KEYS, "missing"]) | hostile_text | huge_text | anything
values = anything | st.sampled_from([lambda: 1, iter([1]), asyncio.Lock()])


def _float_sized(timeout: object) -> bool:
    # Integer timeouts past float range raise OverflowError: test_a_huge_int_timeout_is_clamped.
    return not isinstance(timeout, int) or abs(timeout) < 2**1000


timeouts = (
    st.sampled_from(["default", None, 0, -1, 0.0001, 2**40])
    | st.integers(-5, 5000)
    | numbers
    | anything
).filter(_float_sized)
versions = st.none() | st.integers(-3, 3) | anything
key_lists = st.lists(st.sampled_from([*SEED_KEYS, "missing"]) | hostile_text, max_size=4) | anything
# Only dicts: other types give IndexError or KeyError (test_set_many_of_a_non_mapping...).
mappings = st.dictionaries(st.sampled_from([*SEED_KEYS, "new"]) | hashables, values, max_size=4)
deltas = numbers | anything

# Each method with strategies for its arguments ("default" leaves a timeout out).
CALLS: dict[str, list[st.SearchStrategy[Any]]] = {
    "get": [keys, values, versions],
    "set": [keys, values, timeouts, versions],
    "add": [keys, values, timeouts, versions],
    "get_or_set": [keys, values, timeouts, versions],
    "delete": [keys, versions],
    "get_many": [key_lists, versions],
    "set_many": [mappings, timeouts, versions],
    "delete_many": [key_lists, versions],
    "incr": [keys, deltas, versions],
    "decr": [keys, deltas, versions],
    "touch": [keys, timeouts, versions],
    "has_key": [keys, versions],
    "clear": [],
}
READS = {"get", "get_many", "has_key"}
_TIMEOUT_AT = {"set": 2, "add": 2, "get_or_set": 2, "set_many": 1, "touch": 1}


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    name = draw(st.sampled_from(sorted(CALLS)))
    args = [draw(arg) for arg in CALLS[name]]
    kwargs: dict[str, Any] = {}
    if args:
        kwargs["version"] = args.pop()
    at = _TIMEOUT_AT.get(name)
    if at is not None:
        timeout = args.pop(at)
        if timeout != "default":
            kwargs["timeout"] = timeout
    return name, tuple(args), kwargs


def allowed(exc: Exception) -> bool:
    """Whether Django's cache contract lets ``exc`` escape a cache method."""
    if isinstance(exc, CacheError):
        return False  # the backend fails open by default: cache errors never escape
    if isinstance(exc, InvalidCacheKey | ValueError | TypeError | pickle.PicklingError):
        return True
    if isinstance(exc, RecursionError):
        return True  # pickling a value nested deeper than Python can
    if isinstance(exc, AttributeError):
        return "pickle" in str(exc)  # "Can't pickle local object"
    return isinstance(exc, RuntimeError) and "hostile" in str(exc)  # the argument's own


class Store:
    """The alias's whole store: reset to the seed, and snapshot."""

    def __init__(self, dj: BridgeCache, client: redis.Redis | None) -> None:
        self.dj = dj
        self.client = client

    def reset(self) -> None:
        adapter = self.dj.adapters().sync
        assert isinstance(adapter.flush().unwrap(), type(None))
        self.dj.set("a", "text")
        self.dj.set("n", 5, timeout=1000)
        self.dj.set("obj", {"x": [1.5, None]}, timeout=2000)
        self.dj.set("gone", "v2", version=2)
        for key, data in FOREIGN.items():
            plant_raw(self.dj, key, data)

    def snapshot(self) -> Snapshot:
        if self.client is not None:
            return redis_snapshot(self.client)
        adapter = self.dj.adapters().sync
        assert isinstance(adapter, SyncInMemoryCache)
        return memory_snapshot(adapter.store)


@pytest.fixture
def store(
    settings: SettingsWrapper, location: str, request: pytest.FixtureRequest
) -> Iterator[Store]:
    settings.CACHES = {"default": alias(location, KEY_PREFIX="site")}
    client = request.getfixturevalue("redis_client") if location.startswith("redis") else None
    yield Store(bridge(), client)
    bridge().adapters().sync.flush()


def _check(name: str, outcome: Any, before: Snapshot, after: Snapshot) -> None:
    if isinstance(outcome, Exception):
        assert allowed(outcome), f"{name} raised {outcome!r:.300}"
        assert after == before, f"{name} raised {outcome!r:.200} but changed the store"
    elif name in READS:
        assert after == before, f"{name} changed the store"


def _fuzz(store: Store, call_method: Any) -> set[str]:
    seen: set[str] = set()

    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(call=calls())
    def run(call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
        name, args, kwargs = call
        store.reset()
        before = store.snapshot()
        try:
            outcome = call_method(name, args, kwargs)
        except Exception as exc:
            outcome = exc
        _check(name, outcome, before, store.snapshot())
        seen.add("raised" if isinstance(outcome, Exception) else "returned")

    run()
    return seen


@pytest.mark.redis
def test_sync_methods_raise_only_what_django_allows_and_write_nothing_then(
    store: Store,
) -> None:
    def call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return getattr(store.dj, name)(*args, **kwargs)

    assert _fuzz(store, call) == {"raised", "returned"}


@pytest.mark.redis
def test_async_methods_raise_only_what_django_allows_and_write_nothing_then(
    store: Store,
) -> None:
    with asyncio.Runner() as runner:

        def call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return runner.run(getattr(store.dj, "a" + name)(*args, **kwargs))

        assert _fuzz(store, call) == {"raised", "returned"}


def test_a_huge_int_timeout_is_clamped(store: Store) -> None:
    store.dj.set("k", "v", timeout=10**400)
    assert store.dj.get("k") == "v"


@pytest.mark.parametrize("data", [[1], ["a"], "ab", (("k", "v"),)])
def test_set_many_of_a_non_mapping_says_it_needs_a_dict(store: Store, data: Any) -> None:
    with pytest.raises((TypeError, AttributeError), match=r"dict|mapping|items"):
        store.dj.set_many(data)
