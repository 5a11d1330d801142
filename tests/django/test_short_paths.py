"""BridgeCache's short paths give the answers of the long ones: the keys of ``get_many`` and
``set_many`` made in one pass (``_key_map``) against each made by ``_key``, whole-second
timeouts against the general rule, and the codec's read of its own format against its read of
every format (the same values, the same misses, the same log lines)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.core.cache.backends.base import InvalidCacheKey

from cache_bridge.engine.bytes_operations import MAX_TTL_MS, MISSING
from cache_bridge.values import header
from django_cache_bridge.cache import BridgeCache
from django_cache_bridge.values import ValueCodec

KEY_LISTS: list[list[Any]] = [
    [],
    ["a", "b", "user:1"],
    ["same", "same", "other"],  # the later one wins, as in a dict comprehension
    ["with space", "ok"],  # Django warns about the space
    ["ctrl\x7f", "tab\t"],
    ["x" * 240, "y" * 260],  # the second one is over memcached's 250: a warning
    ["café", "ok"],  # not ASCII: checked by the stored key's rule
    [1, 2.5, "mixed"],  # not str: Django's own make_key
    ["%s:%d", "100%"],
]


def _cache(**params: Any) -> BridgeCache:
    return BridgeCache("memory://short-paths", {"KEY_PREFIX": "p", **params})


def _outcome(make: Callable[[], Any]) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            answer = make()
        except InvalidCacheKey as exc:
            answer = ("InvalidCacheKey", str(exc))
    return answer, [str(w.message) for w in caught]


def _one_by_one(cache: BridgeCache, keys: Iterable[Any], version: int | None) -> dict[str, Any]:
    return {cache._key(key, version): key for key in keys}


@pytest.mark.parametrize("keys", KEY_LISTS, ids=repr)
@pytest.mark.parametrize("version", [None, 7])
def test_keys_made_together_are_those_made_one_by_one(keys: list[Any], version: int | None) -> None:
    cache = _cache()
    together = _outcome(lambda: cache._key_map(keys, version))
    one_by_one = _outcome(lambda: _one_by_one(cache, keys, version))
    assert together == one_by_one
    # any iterable, consumed once; a tuple as a list
    assert _outcome(lambda: cache._key_map(iter(keys), version)) == one_by_one
    assert _outcome(lambda: cache._key_map(tuple(keys), version)) == one_by_one


@pytest.mark.parametrize(
    "keys", [["ok", "z" * 1100], ["ok", "lone \ud800 surrogate"]], ids=["too long", "surrogate"]
)
def test_a_key_no_store_takes_is_refused_together_as_alone(keys: list[str]) -> None:
    cache = _cache()
    answer, _ = _outcome(lambda: cache._key_map(keys, None))
    assert answer == _outcome(lambda: _one_by_one(cache, keys, None))[0]
    assert answer[0] == "InvalidCacheKey"


def test_a_key_function_of_its_own_makes_every_key() -> None:
    cache = _cache(KEY_FUNCTION=lambda key, prefix, version: f"own/{key}")
    assert cache._key_map(["a", "b"], None) == {"own/a": "a", "own/b": "b"}


def test_get_many_and_set_many_on_the_short_path() -> None:
    cache = _cache()
    cache.clear()
    data = {"a": 1, "b": {"n": [1, 2]}, "with space": "w"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cache.set_many(data) == []
        assert cache.get_many([*data, "absent"]) == data
        assert cache.get_many(key for key in ["b", "a"]) == {"b": {"n": [1, 2]}, "a": 1}
        assert {key: cache.get(key) for key in data} == data


@pytest.mark.parametrize(
    "seconds", [1, 2, 300, 86_400, *(MAX_TTL_MS // 1000 + d for d in (-1, 0, 1, 2))]
)
def test_whole_seconds_give_the_milliseconds_of_the_general_rule(seconds: int) -> None:
    cache = _cache()
    for timeout in (seconds, -seconds, 0, seconds * 1000):
        assert cache._ttl_ms(timeout) == cache._ttl_ms(float(timeout))


class _Secrets:
    """Keys of a codec whose secret rotates: ``now``, then ``old`` as its fallback."""

    def __init__(self) -> None:
        from cache_bridge.values import KeyRing

        self.ring = KeyRing()
        self.fallbacks: list[str] = []
        self.secret = "first-secret"

    def __call__(self) -> Any:
        return self.ring.keys(self.secret, self.fallbacks)


def _codec(serializer: str = "pickle", sign: bool = True) -> Any:
    from cache_bridge.values import ValueCodec as CoreCodec

    secrets = _Secrets()
    return CoreCodec(serializer, sign, keys=secrets), secrets


@pytest.mark.parametrize(
    ("serializer", "sign"), [("pickle", True), ("json", True), ("pickle", False)]
)
def test_reading_the_own_format_answers_as_the_general_read(
    serializer: str, sign: bool, caplog: pytest.LogCaptureFixture
) -> None:
    codec, secrets = _codec(serializer, sign)
    value = {"name": "v", "items": [1, 2, 3]}
    data = codec.dumps("k", value)
    assert data.startswith(codec._plain)
    assert codec.loads("k", data) == value
    if sign:
        # signed with the secret that is now a fallback: still read
        secrets.fallbacks, secrets.secret = [secrets.secret], "second-secret"
        assert codec.loads("k", data) == value
        # moved to another key, tampered, or signed with a secret no longer kept: a miss,
        # and one warning saying so
        for key, stored in (("other", data), ("k", data[:-1] + b"!")):
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                assert codec.loads(key, stored) is MISSING
            assert [r.getMessage() for r in caplog.records] == [
                f"cache value at {key!r} has a bad signature (tampered, or signed with "
                "another secret key); treated as a miss, not decoded"
            ]
        secrets.fallbacks = []
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert codec.loads("k", data) is MISSING
        assert len(caplog.records) == 1
    else:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert codec.loads("k", codec._plain + b"\x80not a pickle") is MISSING
        assert len(caplog.records) == 1
        assert "could not be decoded" in caplog.records[0].getMessage()


def test_the_django_codec_reads_its_own_format_and_the_older_ones() -> None:
    codec = ValueCodec()
    value = {"a": [1, 2]}
    data = codec.dumps("k", value)
    assert header.parse(data) is not None
    assert codec.loads("k", data) == value
    assert codec.loads("k", b"12") == 12
    unsigned = ValueCodec(sign=False).dumps("k", value)
    assert codec.loads("k", unsigned) is MISSING  # unsigned pickles are never read when signing
