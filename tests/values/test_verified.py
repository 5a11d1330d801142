"""cache_bridge.values.verified: which signed values count as already verified."""

from __future__ import annotations

from typing import Any

import pytest

from cache_bridge.values import SigningKeys, ValueCodec, signing
from cache_bridge.values import codec as codec_module
from cache_bridge.values.verified import Verified

KEYS = SigningKeys("secret")


def test_only_the_same_object_at_the_same_key_under_the_same_keys() -> None:
    kept = Verified(10)
    data = b"x" * 100
    kept.add("k", data, KEYS)
    assert kept.holds("k", data, KEYS)
    assert not kept.holds("k", bytes(bytearray(data)), KEYS)  # equal, but another object
    assert not kept.holds("other", data, KEYS)
    assert not kept.holds("k", data, SigningKeys("secret"))  # keys made again: checked again


def test_bounded_by_entries_and_bytes_oldest_first() -> None:
    kept = Verified(3, max_bytes=250)
    values = [bytes([n]) * 100 for n in range(4)]
    kept.add("a", values[0], KEYS)
    kept.add("b", values[1], KEYS)
    assert len(kept) == 2
    kept.add("c", values[2], KEYS)  # 300 bytes: over, the oldest goes
    assert len(kept) == 2
    assert not kept.holds("a", values[0], KEYS)
    assert kept.holds("c", values[2], KEYS)
    kept.add("big", b"x" * 251, KEYS)  # larger than the bound: not kept
    assert not kept.holds("big", b"x" * 251, KEYS)
    kept.clear()
    assert len(kept) == 0


def test_off_by_default() -> None:
    kept = Verified()
    data = b"v"
    kept.add("k", data, KEYS)
    assert not kept.holds("k", data, KEYS)


def test_a_codec_that_remembers_verifies_one_object_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = signing.verify

    def spy(*args: Any) -> bool:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(codec_module, "verify", spy)
    for remember, expected in ((0, 6), (10, 1)):
        calls.clear()
        codec = ValueCodec(keys=lambda: KEYS, verified=Verified(remember))
        data = codec.dumps("k", {"a": [1]})
        values = [codec.loads("k", data) for _ in range(3)]
        values += [codec.loads_current("k", data) for _ in range(3)]
        assert values == [{"a": [1]}] * 6
        assert len({id(v) for v in values}) == 6  # decoded afresh for each read
        assert len(calls) == expected
        tampered = data[:-1] + b"!"
        assert codec.loads_current("k", tampered) is codec_module.MISSING
        assert codec.loads("k", tampered) is codec_module.MISSING
        assert codec.loads_current("other", data) is codec_module.MISSING  # moved key
