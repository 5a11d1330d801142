"""The keyed-BLAKE2b value format (cb:s3:, cb:js2:): tampering, truncation, rotated keys,
values written in the older HMAC-SHA256 formats (cb:s2:, cb:js1:), and get_many's fast path
agreeing with get on every kind of stored value."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.cache import BridgeCache
from django_cache_bridge.values import _BLAKE_SALT, _SALT, _blake_mac, _derive, _derive_blake, _mac
from tests.support.django_helpers import (
    Exploit,
    bridge,
    configured_bridge,
    exploited,
    plant,
    stored,
)


@pytest.fixture
def configure(settings: SettingsWrapper, location: str) -> Iterator[Any]:
    yield from configured_bridge(settings, location)


def _old_signed(dj: BridgeCache, key: str, value: Any, secret: str, json_: bool = False) -> bytes:
    """``value`` at ``key`` as the HMAC-SHA256 format wrote it (cb:s2: / cb:js1:)."""
    made = dj.make_key(key)
    if json_:
        marker, payload = b"cb:js1:", json.dumps(value, separators=(",", ":")).encode()
    else:
        marker, payload = b"cb:s2:", pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return marker + _mac(marker, made, payload, _derive(secret)) + payload


def _read_both(dj: BridgeCache, key: str) -> tuple[Any, Any]:
    """What get and get_many each return for ``key`` (None / absent for a miss)."""
    return dj.get(key), dj.get_many([key]).get(key)


def test_the_new_mac_is_keyed_blake2b_under_a_key_derived_from_secret_key() -> None:
    message = b"cb:s3:" + (1).to_bytes(4, "big") + b"k" + b"payload"
    key = hashlib.sha256(_BLAKE_SALT.encode() + b"s3cret").digest()
    expected = hashlib.blake2b(message, key=key, digest_size=32).digest()
    assert _blake_mac(b"cb:s3:", "k", b"payload", _derive_blake("s3cret")) == expected
    assert _blake_mac(b"cb:s3:", "k", b"payload", _derive_blake("other")) != expected
    # Not the HMAC key: the two formats' keys differ even for the same secret.
    assert _BLAKE_SALT != _SALT
    assert _blake_mac(b"cb:s3:", "a\0b", b"P", _derive_blake("s")) != _blake_mac(
        b"cb:s3:", "a", b"b\0P", _derive_blake("s")
    )


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_new_writes_use_the_new_markers_and_read_back(configure: Any, serializer: str) -> None:
    dj = configure(serializer=serializer)
    dj.set_many({"a": {"x": [1, 2]}, "b": "text"})
    data = stored(dj, "a")
    assert data is not None
    assert data.startswith(b"cb:js2:" if serializer == "json" else b"cb:s3:")
    assert dj.get("a") == {"x": [1, 2]}
    assert dj.get_many(["a", "b", "absent"]) == {"a": {"x": [1, 2]}, "b": "text"}


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_every_flipped_bit_and_every_truncation_is_a_logged_miss_and_dropped(
    configure: Any, serializer: str, caplog: pytest.LogCaptureFixture
) -> None:
    dj = configure(serializer=serializer)
    dj.set("k", {"v": "genuine"})
    data = stored(dj, "k")
    assert data is not None
    marker = len(b"cb:js2:" if serializer == "json" else b"cb:s3:")
    # One flipped bit in the MAC's first and last byte and in the payload's, and truncations
    # (inside the marker, at the MAC, inside the MAC, inside the payload, one byte short).
    flips = [marker, marker + 31, marker + 32, len(data) - 1]
    variants = [data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :] for i in flips]
    variants += [data[:n] for n in (3, marker, marker + 16, marker + 32, len(data) - 1)]
    for i, variant in enumerate(variants):
        for read in ("get", "get_many"):
            plant(dj, "k", variant)
            with caplog.at_level(logging.WARNING, logger="django_cache_bridge"):
                got = dj.get("k") if read == "get" else dj.get_many(["k"]).get("k")
            assert got is None, (i, read, variant)
            assert stored(dj, "k") is None, (i, read)  # dropped
    assert "treated as a miss" in caplog.text


def test_a_planted_pickle_behind_the_new_marker_is_never_unpickled(configure: Any) -> None:
    dj = configure()
    evil = pickle.dumps(Exploit())
    plant(dj, "k", b"cb:s3:" + b"\0" * 32 + evil)
    plant(dj, "j", b"cb:s3:" + evil)
    assert dj.get_many(["k", "j"]) == {}
    assert dj.get("k") is None
    assert exploited == []


def test_an_old_format_mac_relabelled_as_new_is_a_miss(configure: Any) -> None:
    dj = configure()
    old = _old_signed(dj, "k", "v", django_settings.SECRET_KEY)
    plant(dj, "k", b"cb:s3:" + old[len(b"cb:s2:") :])
    assert _read_both(dj, "k") == (None, None)
    new_dj = configure()
    new_dj.set("k", "v")
    new = stored(new_dj, "k")
    assert new is not None
    plant(new_dj, "k", b"cb:s2:" + new[len(b"cb:s3:") :])
    assert _read_both(new_dj, "k") == (None, None)


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_values_in_the_old_hmac_format_still_read(configure: Any, serializer: str) -> None:
    dj = configure(serializer=serializer)
    json_ = serializer == "json"
    plant(dj, "old", _old_signed(dj, "old", {"kept": [1]}, django_settings.SECRET_KEY, json_))
    dj.set("new", {"fresh": 2})
    assert _read_both(dj, "old") == ({"kept": [1]}, {"kept": [1]})
    assert dj.get_many(["old", "new"]) == {"old": {"kept": [1]}, "new": {"fresh": 2}}
    # Tampered old-format values are still misses.
    bad = bytearray(_old_signed(dj, "old", {"kept": [1]}, django_settings.SECRET_KEY, json_))
    bad[-1] ^= 1
    plant(dj, "old", bytes(bad))
    assert _read_both(dj, "old") == (None, None)


def test_rotated_keys_verify_through_the_fallbacks_in_both_formats(
    configure: Any, settings: SettingsWrapper
) -> None:
    dj = configure()
    old_secret = django_settings.SECRET_KEY
    dj.set("new", "under the old key")
    plant(dj, "old", _old_signed(dj, "old", "hmac under the old key", old_secret))
    dj.set("n", 7)
    settings.SECRET_KEY = "a-rotated-secret-key"
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    dj = bridge()
    dj.set("now", "under the new key")
    expected = {
        "new": "under the old key",
        "old": "hmac under the old key",
        "n": 7,
        "now": "under the new key",
    }
    assert dj.get_many(list(expected)) == expected
    assert {key: dj.get(key) for key in expected} == expected
    now = stored(dj, "now")
    settings.SECRET_KEY_FALLBACKS = []
    dj = bridge()
    # Without the fallback, only what the current key signed (and integers) reads.
    assert dj.get_many(list(expected)) == {"n": 7, "now": "under the new key"}
    assert stored(dj, "new") is None
    assert stored(dj, "old") is None
    # A value signed under the new key does not verify once the key is rotated away.
    settings.SECRET_KEY = old_secret
    dj = bridge()
    plant(dj, "now", now or b"")
    assert _read_both(dj, "now") == (None, None)


def test_get_many_agrees_with_get_on_a_mix_of_stored_values(configure: Any) -> None:
    dj = configure()
    dj.set_many({"s": "signed", "n": 12, "big": 2**70})
    plant(dj, "old", _old_signed(dj, "old", "old", django_settings.SECRET_KEY))
    plant(dj, "bad", b"cb:s3:" + b"\1" * 40)
    plant(dj, "unsigned", b"cb:p1:" + pickle.dumps("x"))
    plant(dj, "garbage", b"\xff\xfe")
    keys = ["s", "n", "big", "old", "bad", "unsigned", "garbage", "absent"]
    many = dj.get_many(keys)
    assert many == {"s": "signed", "n": 12, "big": 2**70, "old": "old"}
    # What get_many dropped, get now misses too; what it returned, get returns.
    assert {key: dj.get(key) for key in keys if dj.get(key) is not None} == many


def test_unsigned_aliases_take_the_same_fast_path(configure: Any) -> None:
    dj = configure(sign=False)
    dj.set_many({"a": [1], "b": "two"})
    plant(dj, "c", b"cb:p1:not a pickle")
    signed = configure()
    signed.set("d", "signed")
    dj = configure(sign=False)
    plant(dj, "d", stored(signed, "d") or b"")
    assert dj.get_many(["a", "b", "c", "d"]) == {"a": [1], "b": "two"}
    assert stored(dj, "c") is None
    assert stored(dj, "d") is None
