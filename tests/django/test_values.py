"""Stored values: signed pickles, the JSON serializer, unsigned pickles, and protocol access."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils.crypto import salted_hmac
from pytest_django import Settings as SettingsWrapper
from returns.result import Success

from cache_bridge import CacheProtocol, SyncCacheProtocol
from django_cache_bridge import get_cache, get_sync_cache
from django_cache_bridge.cache import BridgeCache
from django_cache_bridge.values import _SALT, ValueCodec, _derive, _mac
from tests.support.django_helpers import (
    Exploit,
    alias,
    bridge,
    configured_bridge,
    exploited,
    fresh_memory,
    plant,
    stored,
)


@pytest.fixture
def configure(settings: SettingsWrapper, location: str) -> Iterator[Any]:
    yield from configured_bridge(settings, location)


def test_values_are_signed_by_default(configure: Any) -> None:
    dj = configure()
    dj.set("k", {"a": 1})
    data = stored(dj, "k")
    assert data is not None
    assert data.startswith(b"cb:s3:")
    assert dj.get("k") == {"a": 1}


def test_a_tampered_value_is_a_logged_miss(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dj = configure()
    dj.set("k", "genuine")
    data = stored(dj, "k")
    assert data is not None
    plant(dj, "k", data[:-1] + bytes([data[-1] ^ 1]))
    with caplog.at_level(logging.WARNING, logger="django_cache_bridge"):
        assert dj.get("k", "miss") == "miss"
        assert dj.get_many(["k"]) == {}
    assert "bad signature" in caplog.text


def test_a_planted_pickle_is_never_unpickled(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dj = configure()
    evil = pickle.dumps(Exploit())
    for data in (
        evil,
        b"cb:p1:" + evil,
        b"cb:s1:" + b"\0" * 32 + evil,
        b"cb:s2:" + b"\0" * 32 + evil,
        b"cb:s3:" + b"\0" * 32 + evil,
    ):
        plant(dj, "k", data)
        with caplog.at_level(logging.WARNING, logger="django_cache_bridge"):
            assert dj.get("k") is None
    assert exploited == []
    assert "treated as a miss" in caplog.text


def test_a_signed_value_moved_to_another_key_is_a_miss(configure: Any) -> None:
    dj = configure()
    dj.set("mine", "secret")
    data = stored(dj, "mine")
    assert data is not None
    plant(dj, "yours", data)
    assert dj.get("yours") is None


def test_another_secret_key_does_not_verify_but_a_fallback_does(
    configure: Any, settings: SettingsWrapper
) -> None:
    dj = configure()
    dj.set("k", "signed with the old key")
    dj.set("gone", "signed with the old key")
    settings.SECRET_KEY = "a-new-secret-key"
    settings.SECRET_KEY_FALLBACKS = ["cache-bridge-tests-not-secret"]
    assert bridge().get("k") == "signed with the old key"
    settings.SECRET_KEY_FALLBACKS = []
    assert bridge().get("gone") is None
    # Unreadable now, so dropped: a fallback set later does not bring it back.
    assert stored(dj, "gone") is None
    settings.SECRET_KEY_FALLBACKS = ["cache-bridge-tests-not-secret"]
    assert bridge().get("gone") is None


def test_the_json_serializer_stores_no_pickle(configure: Any) -> None:
    dj = configure(serializer="json", sign=False)
    dj.set("k", {"name": "Ada", "tags": ["x"], "n": 1.5})
    assert stored(dj, "k") == b'cb:j1:{"name":"Ada","tags":["x"],"n":1.5}'
    assert dj.get("k") == {"name": "Ada", "tags": ["x"], "n": 1.5}
    dj.set("count", 5)
    assert dj.incr("count") == 6
    dj.set("bad", object())  # not JSON: nothing stored (test_django_json_fail_open.py)
    dj.set("nan", float("nan"))
    assert dj.has_key("bad") is False
    assert dj.has_key("nan") is False
    plant(dj, "pickled", b"cb:p1:" + pickle.dumps(Exploit()))
    assert dj.get("pickled") is None
    assert exploited == []


def test_unsigned_pickles_when_asked(configure: Any) -> None:
    dj = configure(sign=False)
    dj.set("k", [1, 2])
    data = stored(dj, "k")
    assert data == b"cb:p1:" + pickle.dumps([1, 2], pickle.HIGHEST_PROTOCOL)
    assert dj.get("k") == [1, 2]


def test_protocol_access_shares_the_alias_namespace(configure: Any) -> None:
    dj = configure()
    sync = get_sync_cache()
    assert isinstance(sync, SyncCacheProtocol)
    assert sync.set("from-protocol", "text") == Success(None)
    assert sync.get("from-protocol") == Success("text")
    # Protocol text is not a format Django reads: a miss, never a crash, and has_key agrees
    # (the unreadable value is dropped).
    assert dj.has_key("from-protocol") is False
    assert dj.get("from-protocol", "miss") == "miss"
    assert sync.get("from-protocol") == Success(None)
    dj.set("n", 7)
    assert sync.increment("n", 3) == Success(10)
    sync.close()
    assert dj.get("n") == 10  # closing a protocol face leaves the alias working
    assert get_sync_cache().get("n") == Success("10")


async def test_async_protocol_access(configure: Any) -> None:
    dj = configure()
    cache = get_cache()
    assert isinstance(cache, CacheProtocol)
    await dj.aset("n", 1)
    assert await cache.increment("n") == Success(2)
    assert await dj.aget("n") == 2


def test_protocol_access_needs_a_bridge_alias(settings: SettingsWrapper) -> None:
    settings.CACHES = {
        "default": alias(fresh_memory()),
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    with pytest.raises(ImproperlyConfigured, match="BridgeCache"):
        get_sync_cache("locmem")
    with pytest.raises(ImproperlyConfigured, match="BridgeCache"):
        get_cache("locmem")
    with pytest.raises(ImproperlyConfigured):
        get_sync_cache("no-such-alias")


def _unreadable(dj: BridgeCache) -> list[bytes]:
    """Stored values alias ``dj`` (pickle, signed) cannot read, one per way of getting there."""
    dj.set("k", "genuine")
    genuine = stored(dj, "k")
    assert genuine is not None
    json_alias = ValueCodec("json", sign=True)
    old_secret = ValueCodec()
    with override_settings(SECRET_KEY="a-rotated-away-secret-key"):
        rotated = old_secret.dumps(dj.make_key("k"), "old")
    return [
        genuine[:-1] + bytes([genuine[-1] ^ 1]),  # tampered
        b"cb:zz:foreign",  # a format nobody writes
        b"text written by the protocol",  # foreign text
        rotated,  # signed with a SECRET_KEY no longer in use
        json_alias.dumps(dj.make_key("k"), {"x": 1}),  # another serializer's format
        b"9999999999999999999",  # an integer outside 64 bits
    ]


def test_an_unreadable_value_does_not_block_its_key(configure: Any) -> None:
    dj = configure()
    for data in _unreadable(dj):
        plant(dj, "k", data)
        assert dj.has_key("k") is False, data
        assert "k" not in dj
        assert stored(dj, "k") is None  # dropped, so it cannot block add
        plant(dj, "k", data)
        assert dj.add("k", "added") is True, data
        assert dj.get("k") == "added"
        plant(dj, "k", data)
        assert dj.get_or_set("k", lambda: "computed") == "computed"
        assert dj.get("k") == "computed"  # stored, not recomputed forever
        plant(dj, "k", data)
        assert dj.get("k", "miss") == "miss"
        assert stored(dj, "k") is None
        plant(dj, "k", data)
        plant(dj, "other", data)
        dj.set("fine", 1)
        assert dj.get_many(["k", "other", "fine"]) == {"fine": 1}
        assert stored(dj, "k") is None
        assert stored(dj, "other") is None
        plant(dj, "k", data)
        assert dj.touch("k") is False
        assert stored(dj, "k") is None
        plant(dj, "k", data)
        assert dj.add("k", "gone at once", timeout=0) is True
    dj.set("k", "readable")
    assert dj.add("k", "not added") is False
    assert dj.has_key("k") is True
    assert dj.touch("k") is True


async def test_an_unreadable_value_does_not_block_its_key_async(configure: Any) -> None:
    dj = configure()
    for data in _unreadable(dj):
        plant(dj, "k", data)
        assert await dj.ahas_key("k") is False, data
        assert stored(dj, "k") is None
        plant(dj, "k", data)
        assert await dj.aadd("k", "added") is True
        assert await dj.aget("k") == "added"
        plant(dj, "k", data)
        assert await dj.aget_or_set("k", "computed") == "computed"
        assert await dj.aget("k") == "computed"
        plant(dj, "k", data)
        assert await dj.aget("k") is None
        assert stored(dj, "k") is None
        plant(dj, "k", data)
        assert await dj.aget_many(["k"]) == {}
        assert stored(dj, "k") is None
        plant(dj, "k", data)
        assert await dj.atouch("k") is False


def test_json_values_are_signed_by_default(configure: Any) -> None:
    dj = configure(serializer="json")
    dj.set("role", {"admin": False})
    data = stored(dj, "role")
    assert data is not None
    assert data.startswith(b"cb:js2:")
    assert data.endswith(b'{"admin":false}')
    assert dj.get("role") == {"admin": False}
    # Planted unsigned JSON, a forged MAC, and a signed value moved to another key: misses.
    for planted in (
        b'cb:j1:{"admin":true}',
        b"cb:js1:" + b"\0" * 32 + b'{"admin":true}',
        b"cb:js2:" + b"\0" * 32 + b'{"admin":true}',
        data[:-6] + b"true}",
    ):
        plant(dj, "role", planted)
        assert dj.get("role") is None, planted
    plant(dj, "elsewhere", data)
    assert dj.get("elsewhere") is None
    # A signed pickle's MAC does not make the same payload valid as JSON, nor the reverse.
    pickles = configure()
    pickles.set("p", "x")
    pickled = stored(pickles, "p")
    assert pickled is not None
    dj = configure(serializer="json")
    for marker in (b"cb:js1:", b"cb:js2:"):
        plant(dj, "p", marker + pickled[len(b"cb:s3:") :])
        assert dj.get("p") is None


def test_unsigned_json_reads_no_signed_json(configure: Any) -> None:
    signed = configure(serializer="json")
    signed.set("k", [1])
    data = stored(signed, "k")
    unsigned = configure(serializer="json", sign=False)
    plant(unsigned, "k", data or b"")
    assert unsigned.get("k") is None
    unsigned.set("k", [1])
    assert stored(unsigned, "k") == b"cb:j1:[1]"
    assert unsigned.get("k") == [1]


def test_the_mac_input_is_unambiguous() -> None:
    secret = _derive("s")
    assert _mac(b"cb:s2:", "a\0b", b"P", secret) != _mac(b"cb:s2:", "a", b"b\0P", secret)
    assert _mac(b"cb:s2:", "ab", b"P", secret) != _mac(b"cb:s2:", "a", b"bP", secret)
    assert _mac(b"cb:s2:", "k", b"P", secret) != _mac(b"cb:js1:", "k", b"P", secret)


def test_the_old_ambiguous_signature_is_not_accepted(configure: Any) -> None:
    dj = configure()
    made = dj.make_key("k")
    payload = pickle.dumps("old", pickle.HIGHEST_PROTOCOL)
    old_mac = salted_hmac(
        "django_cache_bridge.values",
        made.encode() + b"\0" + payload,
        secret=django_settings.SECRET_KEY,
        algorithm="sha256",
    ).digest()
    plant(dj, "k", b"cb:s1:" + old_mac + payload)
    assert dj.get("k") is None


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {"ok": {True: 1}}, [{"x": {None: 2}}], ({1.5: "f"},), {"a": [1, {2: 3}]}],
)
def test_the_json_serializer_refuses_non_str_dict_keys(configure: Any, value: Any) -> None:
    strict = configure(serializer="json", fail_open=False)
    with pytest.raises(TypeError, match="str keys"):
        strict.set("k", value)
    dj = configure(serializer="json")  # fails open: nothing stored rather than keys changed
    dj.set("k", value)
    assert dj.set_many({"a": {"fine": 1}, "k": value}) == ["k"]
    assert dj.add("k", value) is False
    assert dj.get_many(["k", "a"]) == {"a": {"fine": 1}}
    shared: dict[str, Any] = {"s": 1}
    dj.set("k", {"a": shared, "b": shared, "c": [shared, shared]})
    assert dj.get("k") == {"a": {"s": 1}, "b": {"s": 1}, "c": [{"s": 1}, {"s": 1}]}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"9223372036854775807", 2**63 - 1),
        (b"-9223372036854775808", -(2**63)),
        (b"9223372036854775808", None),
        (b"-9223372036854775809", None),
        (b"9999999999999999999", None),
        (b"-9999999999999999999", None),
    ],
)
def test_stored_integers_are_read_only_in_64_bits(
    configure: Any, data: bytes, expected: int | None
) -> None:
    dj = configure()
    plant(dj, "n", data)
    assert dj.get("n") == expected
    if expected is None:
        assert stored(dj, "n") is None
        assert dj.get_many(["n"]) == {}


def test_the_mac_is_django_salted_hmac_with_the_key_derived_once() -> None:
    # Values signed before the derived key was cached still verify: same MAC, bit for bit.
    message = b"cb:s2:" + (1).to_bytes(4, "big") + b"k" + b"payload"
    expected = salted_hmac(_SALT, message, secret="s3cret", algorithm="sha256").digest()
    assert _mac(b"cb:s2:", "k", b"payload", _derive("s3cret")) == expected


def test_a_secret_key_changed_without_a_signal_is_followed(configure: Any) -> None:
    """A SECRET_KEY assigned at run time (no setting_changed signal: plain assignment on the
    settings object) signs the next write; a value signed under the old key is a miss."""
    cache = bridge()
    old_secret = django_settings.SECRET_KEY
    cache.set("before", "signed with the old key")
    assert cache.get("before") == "signed with the old key"
    django_settings.SECRET_KEY = "assigned-at-run-time-secret"  # no signal announces it
    try:
        assert cache.get("before") is None
        cache.set("after", "signed with the new key")
        assert cache.get("after") == "signed with the new key"
    finally:
        django_settings.SECRET_KEY = old_secret
    assert cache.get("after") is None  # the new key is gone again: its values are misses
