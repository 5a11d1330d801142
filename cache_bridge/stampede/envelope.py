"""The stored form of a stampede-protected entry: a versioned envelope around the value's own
bytes (whatever codec wrote them), readable by both faces and every release that knows ``sw1``.

Version 1, all ASCII up to the payload::

    cb:sw1:<fresh_until_ms>:<stale_until_ms>:<compute_ms>:<payload>

- ``fresh_until_ms``: when the value stops being fresh, in Unix-epoch milliseconds (``0``:
  fresh for ever);
- ``stale_until_ms``: the hard expiry, which is also the key's expiry in the store (``0``:
  none); between the two the value is stale: served while one caller recomputes it;
- ``compute_ms``: how long the computation that produced it took (scales early refresh);
- ``payload``: the value as the codec wrote it (for the core, the :mod:`cache_bridge.values`
  header and body).

Times are wall-clock (every process that shares the key must have a synchronised clock, to
within a small fraction of the fresh time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MARKER", "Envelope", "unwrap", "wrap"]

#: How every version-1 envelope starts.
MARKER = b"cb:sw1:"
_HEAD = re.compile(rb"cb:sw1:(\d{1,15}):(\d{1,15}):(\d{1,12}):")


@dataclass(frozen=True, slots=True)
class Envelope:
    """An entry as stored: the payload and its timing (seconds, wall clock; ``None``: never)."""

    payload: bytes
    fresh_until: float | None
    stale_until: float | None
    compute_time: float

    def fresh(self, now: float) -> bool:
        """Whether the value is still fresh at ``now``."""
        return self.fresh_until is None or now < self.fresh_until

    def usable(self, now: float) -> bool:
        """Whether the value may still be served at ``now`` (fresh or stale, not expired)."""
        return self.stale_until is None or now < self.stale_until


def _ms(seconds: float | None) -> int:
    return 0 if seconds is None else max(1, round(seconds * 1000))


def _seconds(ms: bytes) -> float | None:
    return None if int(ms) == 0 else int(ms) / 1000


def wrap(envelope: Envelope) -> bytes:
    """The stored bytes of ``envelope``."""
    head = b"%d:%d:%d:" % (
        _ms(envelope.fresh_until),
        _ms(envelope.stale_until),
        round(envelope.compute_time * 1000),
    )
    return MARKER + head + envelope.payload


def unwrap(data: bytes) -> Envelope | None:
    """The envelope stored as ``data``, or ``None`` if ``data`` is not one (a plain value, a
    newer version, garbage)."""
    if not data.startswith(MARKER):
        return None
    head = _HEAD.match(data)
    if head is None:
        return None
    fresh, stale, compute = head.groups()
    return Envelope(data[head.end() :], _seconds(fresh), _seconds(stale), int(compute) / 1000)
