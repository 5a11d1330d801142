"""cache_bridge/stampede/envelope.py: the stored format, version 1."""

from __future__ import annotations

import pytest

from cache_bridge.stampede.envelope import MARKER, Envelope, unwrap, wrap


def test_an_envelope_round_trips_with_millisecond_times() -> None:
    envelope = Envelope(b"cb:j1:[1, 2]", 1_700_000_000.5, 1_700_000_060.25, 0.2)
    data = wrap(envelope)
    assert data == b"cb:sw1:1700000000500:1700000060250:200:cb:j1:[1, 2]"
    assert unwrap(data) == envelope


def test_no_expiry_is_written_as_zero() -> None:
    data = wrap(Envelope(b"x", None, None, 0.0))
    assert data == MARKER + b"0:0:0:x"
    back = unwrap(data)
    assert back is not None
    assert back.fresh(1e12)
    assert back.usable(1e12)


def test_fresh_and_usable_follow_the_two_times() -> None:
    envelope = Envelope(b"", 10.0, 20.0, 0.0)
    assert envelope.fresh(9.9)
    assert envelope.usable(9.9)
    assert not envelope.fresh(10.0)
    assert envelope.usable(15.0)
    assert not envelope.usable(20.0)


@pytest.mark.parametrize(
    "data", [b"cb:j1:[1]", b"cb:sw1:", b"cb:sw1:1:2:", b"cb:sw1:a:2:3:x", b"cb:sw2:1:2:3:x", b""]
)
def test_anything_else_is_not_an_envelope(data: bytes) -> None:
    assert unwrap(data) is None
