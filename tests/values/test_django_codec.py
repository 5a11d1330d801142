"""The core codec behind Django's cache API (memory:// and a real Redis): OPTIONS
``serializer``, ``compressor`` and ``compress_min_bytes``; values stored before compression
(or by another compressor) stay readable; unreadable values stay misses."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django import Settings as SettingsWrapper

from tests.support.django_helpers import configured_bridge, plant, stored

BIG = {"rows": [{"id": n, "name": f"user {n}"} for n in range(500)]}


@pytest.fixture
def configure(settings: SettingsWrapper, location: str) -> Iterator[Any]:
    yield from configured_bridge(settings, location)


@pytest.mark.parametrize("compressor", ["zlib", "zstd", "lz4"])
@pytest.mark.parametrize("serializer", ["pickle", "json", "msgpack"])
def test_large_values_are_compressed_and_read_back(
    configure: Any, serializer: str, compressor: str
) -> None:
    dj = configure(serializer=serializer, compressor=compressor)
    dj.set("big", BIG)
    dj.set("small", {"a": 1})
    dj.set("count", 1)
    data = stored(dj, "big")
    assert data is not None
    letter = {"zlib": b"z", "zstd": b"s", "lz4": b"l"}[compressor]
    assert data.startswith(b"cb:2" + serializer[0].encode() + letter)
    assert len(data) < len(str(BIG)) / 3
    assert dj.get("big") == BIG
    assert dj.get_many(["big", "small"]) == {"big": BIG, "small": {"a": 1}}
    assert dj.incr("count") == 2  # integers stay counters


def test_values_stored_before_compression_stay_readable(configure: Any) -> None:
    before = configure()  # the configuration of earlier releases
    before.set("old", BIG)
    assert (stored(before, "old") or b"").startswith(b"cb:s3:")
    after = configure(compressor="zstd", compress_min_bytes=100)
    assert after.get("old") == BIG
    after.set("new", BIG)
    assert (stored(after, "new") or b"").startswith(b"cb:2pss:")
    # Switching the compressor again, or turning it off, reads both.
    for options in ({"compressor": "lz4"}, {}):
        again = configure(**options)
        assert again.get_many(["old", "new"]) == {"old": BIG, "new": BIG}


def test_a_tampered_compressed_value_is_a_dropped_miss(configure: Any) -> None:
    dj = configure(compressor="zlib")
    dj.set("k", BIG)
    data = stored(dj, "k") or b""
    plant(dj, "k", data[:-1] + bytes([data[-1] ^ 1]))
    assert dj.get("k") is None
    assert stored(dj, "k") is None
    assert dj.add("k", "fresh") is True


def test_a_compressor_missing_on_this_worker_gives_misses(
    configure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dj = configure(compressor="lz4")
    dj.set("k", BIG)
    monkeypatch.setitem(sys.modules, "lz4.frame", None)
    assert configure().get("k", "miss") == "miss"


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"compressor": "brotli"}, "OPTIONS['compressor'] must be None, 'zlib'"),
        ({"compressor": "zlib", "compress_min_bytes": "1k"}, "OPTIONS['compress_min_bytes']"),
        ({"serializer": "yaml"}, "'msgpack'"),
    ],
)
def test_option_mistakes_raise_on_use(configure: Any, options: Any, text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=text.replace("[", r"\[").replace("(", r"\(")):
        configure(**options).get("k")
    configure()  # a valid alias again, for the fixture's clear()


def test_a_value_msgpack_cannot_write_raises_as_an_unpicklable_one_does(configure: Any) -> None:
    dj = configure(serializer="msgpack")
    with pytest.raises(TypeError):
        dj.set("k", object())
    assert dj.get("k") is None
