"""BridgeCache.get / aget with the near cache on: a local copy is read without running the
operation, with every guarantee of the operation's path (Django's key checks, the observability
events, a closed face, fail-open answers, a value of its own for each caller), and a signed
value is verified once per fill, not once per hit."""

from __future__ import annotations

import hmac
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache.backends.base import CacheKeyWarning, InvalidCacheKey
from django.test import override_settings
from pytest_django import Settings as SettingsWrapper

from cache_bridge.observability import events
from cache_bridge.observability.events import NearCacheEvent, OperationEvent
from cache_bridge.values import codec as codec_module
from cache_bridge.values import signing
from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import alias, bridge, plant

N = 50


def _wait_ready(cache: BridgeCache) -> None:
    shared = cache.adapters()
    deadline = time.monotonic() + 5
    for face in (shared.sync, shared.async_):
        near = getattr(face, "near_cache", None)
        assert near is not None, "OPTIONS near_cache did not reach the adapter"
        while not near.ready:
            assert time.monotonic() < deadline, "tracking never came up"
            time.sleep(0.005)


@pytest.fixture
def near(
    settings: SettingsWrapper, redis_client: redis.Redis, redis_url: str
) -> Iterator[BridgeCache]:
    settings.CACHES = {
        "default": alias(redis_url, KEY_PREFIX="short", OPTIONS={"near_cache": True}),
        "plain": alias(redis_url, KEY_PREFIX="plain"),
    }
    cache = bridge()
    _wait_ready(cache)
    yield cache
    cache.clear()


def _stats(cache: BridgeCache) -> dict[str, int]:
    store: Any = cache.adapters().sync.near_cache  # type: ignore[attr-defined]
    return dict(store.stats())


def _local(cache: BridgeCache, key: str, expected: Any, default: Any = None) -> None:
    """Read ``key`` until a read was served locally and gave ``expected``."""
    deadline = time.monotonic() + 5
    while True:
        before = _stats(cache)["hits"]
        if cache.get(key, default) == expected and _stats(cache)["hits"] > before:
            return
        assert time.monotonic() < deadline, f"{key!r} was never served locally"
        time.sleep(0.002)


class _CountingVerify:
    def __init__(self) -> None:
        self.calls = 0
        self._verify = signing.verify

    def __call__(self, *args: Any) -> bool:
        self.calls += 1
        return self._verify(*args)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> _CountingVerify:
    spy = _CountingVerify()
    monkeypatch.setattr(codec_module, "verify", spy)
    return spy


async def test_a_signed_value_is_verified_once_per_fill_not_per_hit(
    near: BridgeCache, verifications: _CountingVerify
) -> None:
    value = {"name": "hot", "items": list(range(10))}
    near.set("k", value)
    _local(near, "k", value)
    verifications.calls = 0
    before = _stats(near)
    for _ in range(N):
        assert near.get("k") == value
        assert await near.aget("k") == value
    after = _stats(near)
    if after["resets"] == before["resets"]:  # (a reset sends reads to the server meanwhile)
        assert after["hits"] - before["hits"] == 2 * N  # every read was served locally
    # none verified again (a reset of the near cache would refill, and verify, once more)
    assert verifications.calls <= after["resets"] - before["resets"]
    near.set("k", {"new": 1})  # a new fill: verified once, then not again
    _local(near, "k", {"new": 1})
    calls = verifications.calls
    for _ in range(N):
        assert near.get("k") == {"new": 1}
    assert verifications.calls - calls <= _stats(near)["resets"] - after["resets"]
    assert calls >= 1


def test_without_the_near_cache_every_read_is_verified(
    near: BridgeCache, verifications: _CountingVerify
) -> None:
    plain = bridge("plain")
    plain.set("k", {"v": 1})
    verifications.calls = 0
    for _ in range(N):
        assert plain.get("k") == {"v": 1}
    assert verifications.calls == N


def test_a_changed_secret_is_checked_again(
    near: BridgeCache, verifications: _CountingVerify, caplog: pytest.LogCaptureFixture
) -> None:
    near.set("k", "signed")
    _local(near, "k", "signed")
    with override_settings(SECRET_KEY="a-new-secret", SECRET_KEY_FALLBACKS=[]):
        assert near.get("k", "default") == "default"  # the old signature: not served
    assert "bad signature" in caplog.text
    near.set("k", "signed")
    _local(near, "k", "signed")
    from django.conf import settings

    old = settings.SECRET_KEY
    calls = verifications.calls
    with override_settings(SECRET_KEY="a-new-secret", SECRET_KEY_FALLBACKS=[old]):
        assert near.get("k") == "signed"  # verified again, under the fallback
        assert verifications.calls > calls


def test_each_caller_gets_a_value_of_its_own(near: BridgeCache) -> None:
    value = {"items": [1, 2]}
    near.set("k", value)
    _local(near, "k", value)
    first = near.get("k")
    first["items"].append(3)
    second = near.get("k")
    assert second == {"items": [1, 2]}
    assert second is not first


async def test_local_reads_give_the_events_the_operation_gives(near: BridgeCache) -> None:
    near.set("k", "v")
    near.set("none", None)
    shared = near.adapters()
    server = shared.sync.origin.server
    local_hit = NearCacheEvent("hit", 1, server)  # the near cache tells it first, then the driver
    expected = [
        local_hit,
        ("get", "success", True, shared.sync.origin, near.make_key("k")),
        local_hit,
        ("get", "success", False, shared.sync.origin, near.make_key("none")),
        local_hit,
        ("get", "success", False, shared.sync.origin, near.make_key("absent")),
        local_hit,
        ("get", "success", True, shared.async_.origin, near.make_key("k")),
    ]
    all_local = False
    for _ in range(10):  # (a reset of the near cache on a loaded machine sends a read away)
        _local(near, "k", "v")
        _local(near, "none", None, default="default")
        _local(near, "absent", "default", default="default")
        seen: list[Any] = []
        stop = events.add_listener(seen.append)
        try:
            before = _stats(near)["hits"]
            assert near.get("k") == "v"
            assert near.get("none", "default") is None
            assert near.get("absent", "default") == "default"
            assert await near.aget("k") == "v"
            all_local = _stats(near)["hits"] - before == 4
        finally:
            stop()
        got = [
            (e.operation, e.outcome, e.hit, e.origin, e.key) if isinstance(e, OperationEvent) else e
            for e in seen
        ]
        assert got == expected
        assert all(e.duration >= 0 for e in seen if isinstance(e, OperationEvent))
        if all_local:
            break
    assert all_local, "the four reads were never all served locally"
    # the operation's way (as every read went before the short path) tells the same
    through: list[Any] = []
    stop = events.add_listener(through.append)
    try:
        made = near.make_key("k")
        assert near._run(near._plan_get_made(made, None)) == "v"
    finally:
        stop()
    if len(through) == 2:  # (else the copy was reset meanwhile: the read went to the server)
        assert through[0] == local_hit
        event = through[1]
        assert (event.operation, event.outcome, event.hit, event.origin, event.key) == expected[1]


def test_keys_are_checked_as_django_checks_them(near: BridgeCache) -> None:
    with pytest.warns(CacheKeyWarning):
        near.set("a b", 1)  # memcached-unsafe: Django warns, once per call
    for _ in range(3):
        with pytest.warns(CacheKeyWarning) as caught:
            assert near.get("a b") == 1
        assert len(caught) == 1
    with pytest.raises(InvalidCacheKey), pytest.warns(CacheKeyWarning):
        near.get("k" * 1100)
    with pytest.raises(InvalidCacheKey):
        near.get("\ud800")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        near.set("ok", 2)
        _local(near, "ok", 2)


def test_a_key_function_is_honoured(
    settings: SettingsWrapper, redis_client: redis.Redis, redis_url: str
) -> None:
    settings.CACHES = {
        "default": alias(
            redis_url,
            KEY_PREFIX="kf",
            KEY_FUNCTION=lambda key, prefix, version: f"{prefix}|{version}|{key.upper()}",
            OPTIONS={"near_cache": True},
        )
    }
    cache = bridge()
    _wait_ready(cache)
    cache.set("k", "v")
    assert redis_client.exists("kf|1|K")
    _local(cache, "k", "v")
    redis_client.delete("kf|1|K")
    deadline = time.monotonic() + 5
    while cache.get("k") is not None:
        assert time.monotonic() < deadline, "the deleted value stayed"
        time.sleep(0.002)


async def test_a_closed_face_is_not_read_locally(near: BridgeCache) -> None:
    near.set("k", "v")
    _local(near, "k", "v")
    shared = near.adapters()
    await shared.async_.aclose()
    try:
        assert await near.aget("k", "default") == "default"  # the operation's answer: fail open
    finally:
        shared.sync.close()  # the next use makes the alias's adapters again
    assert near.get("k") == "v"


def test_values_the_short_path_leaves_to_the_operation(
    near: BridgeCache, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    near.set("n", 5)  # a counter: text, not signed
    _local(near, "n", 5)
    assert near.incr("n") == 6
    assert near.get("n") == 6
    assert near.get_or_set("s", lambda: "computed", stampede=True) == "computed"
    assert near.get("s") == "computed"  # inside a stampede envelope
    assert near.get("s") == "computed"
    plant(near, "bad", b"cb:not a value")
    with caplog.at_level(logging.WARNING):
        assert near.get("bad", "default") == "default"
    assert caplog.text.count("'" + near.make_key("bad") + "'") == 1  # logged once
    assert not redis_client.exists(near.make_key("bad"))  # and dropped


def test_get_many_and_has_key_verify_once_per_fill_too(
    near: BridgeCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    near.set_many({"a": [1], "b": {"x": 2}})
    _local(near, "a", [1])
    _local(near, "b", {"x": 2})
    real = hmac.compare_digest
    compared: list[int] = []

    def spy(a: Any, b: Any) -> bool:
        compared.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # every MAC check ends here
    assert near.get_many(["a", "b"]) == {"a": [1], "b": {"x": 2}}  # verified at the fills above
    compared.clear()
    before = _stats(near)
    for _ in range(N):
        assert near.get_many(["a", "b"]) == {"a": [1], "b": {"x": 2}}
        assert near.has_key("a")
        assert near.get("b") == {"x": 2}
    after = _stats(near)
    if after["resets"] == before["resets"]:
        assert after["hits"] - before["hits"] >= 3 * N
    assert len(compared) <= 2 * (after["resets"] - before["resets"])


def test_a_copy_is_verified_once_for_every_thread(
    near: BridgeCache, verifications: _CountingVerify
) -> None:
    near.set("k", {"v": 1})
    _local(near, "k", {"v": 1})
    calls = verifications.calls
    resets = _stats(near)["resets"]
    got: list[Any] = []

    def read() -> None:
        other = bridge()  # Django's cache object of this thread
        got.append((other is near, [other.get("k") for _ in range(N)]))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert got == [(False, [{"v": 1}] * N)]
    assert verifications.calls - calls <= _stats(near)["resets"] - resets


@pytest.mark.parametrize(
    "options",
    [{"serializer": "json"}, {"sign": False}, {"compressor": "zlib", "compress_min_bytes": 10}],
    ids=["json", "unsigned", "compressed"],
)
def test_other_value_formats_are_read_locally_too(
    settings: SettingsWrapper, redis_client: redis.Redis, redis_url: str, options: dict[str, Any]
) -> None:
    settings.CACHES = {
        "default": alias(redis_url, KEY_PREFIX="fmt", OPTIONS={"near_cache": True, **options})
    }
    cache = bridge()
    _wait_ready(cache)
    value = {"text": "x" * 200, "items": [1, 2, 3]}
    cache.set("k", value)
    _local(cache, "k", value)  # (a compressed value takes the operation's way, still local)
    first = cache.get("k")
    first["items"].append(4)
    assert cache.get("k") == value
