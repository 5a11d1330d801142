"""cache_bridge.values: every serializer x compressor x signing round-trips, every
configuration reads what every other one with the same serializer wrote, the header says how
a value was written, the signature is checked before decompression, and decompression is
capped."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_bridge.errors import ConfigurationError
from cache_bridge.values import MISSING, KeyRing, ValueCodec, check_codec_options
from cache_bridge.values.header import parse

RING = KeyRing()
COMPRESSORS = [None, "zlib", "zstd", "lz4"]
SERIALIZERS = ["pickle", "json", "msgpack"]


def keys() -> Any:
    return RING.keys("s3cret", ["old-secret"])


def codec(serializer: str = "pickle", compressor: str | None = None, **kw: Any) -> ValueCodec:
    kw.setdefault("compress_min_bytes", 64)
    return ValueCodec(serializer, kw.pop("sign", True), compressor=compressor, keys=keys, **kw)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # msgpack's integers
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)


@pytest.mark.parametrize("compressor", COMPRESSORS)
@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest.mark.parametrize("sign", [True, False])
@settings(max_examples=15, deadline=None)
@given(value=json_values, repeat=st.integers(1, 200))
def test_every_configuration_round_trips(
    serializer: str, compressor: str | None, sign: bool, value: Any, repeat: int
) -> None:
    value = [value] * repeat  # long enough, often, to be compressed
    writer = codec(serializer, compressor, sign=sign)
    data = writer.dumps("k", value)
    assert writer.loads("k", data) == value
    # Every configuration with the same serializer and signing reads it: the header says how.
    for other in COMPRESSORS:
        assert codec(serializer, other, sign=sign).loads("k", data) == value
    assert writer.loads_many(["k", "absent"], [data, None]) == ({"k": value}, [])


def test_the_header_says_how_a_value_was_written() -> None:
    text = "a fairly compressible value " * 100
    assert codec().dumps("k", "tiny").startswith(b"cb:s3:")
    assert codec("json", sign=False).dumps("k", "tiny") == b'cb:j1:"tiny"'
    assert codec("msgpack").dumps("k", "tiny").startswith(b"cb:2mns:")
    assert codec(compressor="zlib").dumps("k", text).startswith(b"cb:2pzs:")
    assert codec("json", "zstd", sign=False).dumps("k", text).startswith(b"cb:2jsu:")
    assert codec("msgpack", "lz4").dumps("k", text).startswith(b"cb:2mls:")
    form = parse(codec("json", "lz4").dumps("k", text))
    assert form is not None
    assert (form.serializer, form.compressor, form.signed) == (b"j", b"l", True)
    # Below the threshold, or when compression does not help, the plain form is written.
    assert codec(compressor="zlib").dumps("k", "short").startswith(b"cb:s3:")
    noise = os.urandom(4000)
    assert codec(compressor="zlib").dumps("k", noise).startswith(b"cb:s3:")
    assert codec(compressor="zlib", compress_min_bytes=0).dumps("k", text).startswith(b"cb:2pzs")
    # Integers stay decimal text, whatever the configuration.
    assert codec("msgpack", "zlib").dumps("k", 42) == b"42"


def test_compression_makes_large_values_smaller() -> None:
    value = {"rows": [{"id": n, "name": f"user {n}", "active": True} for n in range(2000)]}
    plain = len(codec("json").dumps("k", value))
    for name in ("zlib", "zstd", "lz4"):
        assert len(codec("json", name).dumps("k", value)) < plain / 3, name


def test_the_signature_is_checked_before_decompression(caplog: pytest.LogCaptureFixture) -> None:
    bomb = codec(compressor="zlib", max_value_bytes=10**9).dumps("k", b"\0" * 5_000_000)
    tampered = bomb[:-1] + bytes([bomb[-1] ^ 1])
    small = codec(compressor="zlib", max_value_bytes=1000)
    with caplog.at_level(logging.WARNING):
        assert small.loads("k", tampered) is MISSING
        assert small.loads("elsewhere", bomb) is MISSING  # bound to its key
    assert "bad signature" in caplog.text
    assert "refused" not in caplog.text  # never reached the decompressor
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert small.loads("k", bomb) is MISSING
    assert "more than 1000 bytes" in caplog.text


@pytest.mark.parametrize("compressor", ["zlib", "zstd", "lz4"])
def test_decompression_is_capped_for_unsigned_values_too(compressor: str) -> None:
    data = codec(compressor=compressor, sign=False).dumps("k", b"x" * 2_000_000)
    capped = codec(compressor=compressor, sign=False, max_value_bytes=100_000)
    assert capped.loads("k", data) is MISSING
    assert codec(sign=False).loads("k", data) == b"x" * 2_000_000


def test_a_value_whose_compressor_is_not_installed_is_a_miss(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = codec(compressor="zstd").dumps("k", "z" * 5000)
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as on a worker without the extra
    with caplog.at_level(logging.WARNING):
        assert codec().loads("k", data) is MISSING
    assert "zstd, whose package is not installed" in caplog.text
    with pytest.raises(ConfigurationError, match=r"cache-bridge\[zstd\]"):
        codec(compressor="zstd")


def test_signing_and_serializer_rules() -> None:
    signed, unsigned = codec(), codec(sign=False)
    assert unsigned.loads("k", signed.dumps("k", [1])) is MISSING
    assert signed.loads("k", unsigned.dumps("k", [1])) is MISSING
    # A JSON or msgpack codec never unpickles, even a correctly signed pickle.
    pickled = codec(compressor="zlib").dumps("k", "p" * 3000)
    assert codec("json", "zlib").loads("k", pickled) is MISSING
    assert codec("msgpack").loads("k", pickled) is MISSING
    # Rotated secrets: values signed with a fallback still verify.
    old = ValueCodec(keys=lambda: RING.keys("old-secret"), compressor="lz4")
    assert codec().loads("k", old.dumps("k", "o" * 3000)) == "o" * 3000
    assert codec().loads("k", b"cb:2pzq:junk") is MISSING  # no such signing letter
    assert codec().loads("k", b"cb:2pn") is MISSING


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("yaml", None, 1), "'pickle' or 'json'"),
        (("json", "brotli", 1), "None, 'zlib', 'zstd' or 'lz4'"),
        (("json", "zlib", -1), "compress_min_bytes"),
        (("json", "zlib", True), "compress_min_bytes"),
    ],
)
def test_configuration_mistakes_say_what_to_write(options: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_codec_options(*options)
    check_codec_options("json", "none", 0)
