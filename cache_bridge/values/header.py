"""The header at the start of every stored value (integers excepted): how it was written.

Two families, both read by every release since the compressors arrived:

============  ==========  ===========  ======  ====================================
header        serializer  compression  signed  notes
============  ==========  ===========  ======  ====================================
``cb:s3:``    pickle      none         yes     keyed BLAKE2b (written today)
``cb:js2:``   json        none         yes     keyed BLAKE2b (written today)
``cb:p1:``    pickle      none         no      written today
``cb:j1:``    json        none         no      written today
``cb:s2:``    pickle      none         yes     HMAC-SHA256, read only (older releases)
``cb:js1:``   json        none         yes     HMAC-SHA256, read only (older releases)
``cb:2SCG:``  S           C            G       version 2: every other combination
============  ==========  ===========  ======  ====================================

In version 2, ``S`` is ``p`` (pickle), ``j`` (json) or ``m`` (msgpack); ``C`` is ``n`` (none),
``z`` (zlib), ``s`` (zstd) or ``l`` (lz4); ``G`` is ``s`` (signed: a 32-byte keyed BLAKE2b MAC
follows the header) or ``u`` (unsigned). Writers use the first family where it can say how
the value was written (uncompressed pickle or JSON), so the bytes stored by a configuration
without compression or msgpack are the same as before version 2 existed.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Form", "marker", "parse", "plain_marker"]


class Form(NamedTuple):
    """How a stored value was written, as its header says."""

    marker: bytes
    serializer: bytes
    compressor: bytes | None
    signed: bool
    hmac: bool = False


_LEGACY = {
    b"cb:s3:": Form(b"cb:s3:", b"p", None, True),
    b"cb:js2:": Form(b"cb:js2:", b"j", None, True),
    b"cb:p1:": Form(b"cb:p1:", b"p", None, False),
    b"cb:j1:": Form(b"cb:j1:", b"j", None, False),
    b"cb:s2:": Form(b"cb:s2:", b"p", None, True, hmac=True),
    b"cb:js1:": Form(b"cb:js1:", b"j", None, True, hmac=True),
}
_WRITTEN = {
    (b"p", True): b"cb:s3:",
    (b"j", True): b"cb:js2:",
    (b"p", False): b"cb:p1:",
    (b"j", False): b"cb:j1:",
}
_V2 = b"cb:2"
_V2_SIZE = len(_V2) + 4


def marker(serializer: bytes, compressor: bytes | None, signed: bool) -> bytes:
    """The version-2 header for a value written this way."""
    return _V2 + serializer + (compressor or b"n") + (b"s" if signed else b"u") + b":"


def plain_marker(serializer: bytes, signed: bool) -> bytes:
    """The header of an uncompressed value (the older family where it has one)."""
    return _WRITTEN.get((serializer, signed)) or marker(serializer, None, signed)


def parse(data: bytes) -> Form | None:
    """How ``data`` was written, or None if it starts with no header this release reads."""
    if data.startswith(_V2) and data[_V2_SIZE - 1 : _V2_SIZE] == b":":
        serializer, packed, signed = (data[i : i + 1] for i in range(4, 7))
        if signed not in (b"s", b"u"):
            return None
        compressor = None if packed == b"n" else packed
        return Form(data[:_V2_SIZE], serializer, compressor, signed == b"s")
    end = data.find(b":", 3)
    return _LEGACY.get(data[: end + 1]) if end > 0 else None
