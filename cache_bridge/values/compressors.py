"""Compressing stored values: zlib (standard library), zstd and lz4 (extras ``[zstd]`` and
``[lz4]``). Decompression is capped: a payload that would decompress to more than the cap is
refused (:class:`TooLarge`) before more than the cap plus one chunk is held in memory.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from typing import Any

__all__ = [
    "COMPRESSORS",
    "Compressor",
    "TooLarge",
    "available",
    "compressor",
]

#: The compressor names (None, "none" or a missing option: no compression).
COMPRESSORS = ("zlib", "zstd", "lz4")
_CHUNK = 1 << 16


class TooLarge(ValueError):
    """A compressed value would decompress beyond the cap."""


class Compressor:
    """One compressor: its name, its header letter, the module it needs, and its functions."""

    __slots__ = ("compress", "decompress", "letter", "module", "name")

    def __init__(
        self,
        name: str,
        letter: bytes,
        module: str,
        compress: Callable[[bytes], bytes],
        decompress: Callable[[bytes, int], bytes],
    ) -> None:
        self.name = name
        self.letter = letter
        self.module = module
        self.compress = compress
        self.decompress = decompress


def _module(name: str) -> Any:
    return importlib.import_module(name)


def _capped(chunks: Callable[[int], bytes], cap: int, done: Callable[[], bool]) -> bytes:
    """Read ``chunks(n)`` until ``done()``; more than ``cap`` bytes raise :class:`TooLarge`."""
    out = bytearray()
    while True:
        chunk = chunks(min(_CHUNK, cap + 1 - len(out)))
        out += chunk
        if len(out) > cap:
            raise TooLarge(f"the value decompresses to more than {cap} bytes")
        if done():
            return bytes(out)
        if not chunk:
            raise ValueError("the compressed value is truncated")


def _zlib_decompress(data: bytes, cap: int) -> bytes:
    inflater = zlib.decompressobj()
    pending = [data]

    def chunks(size: int) -> bytes:
        source = pending.pop() if pending else inflater.unconsumed_tail
        out = inflater.decompress(source, max(size, 1))
        pending.append(inflater.unconsumed_tail)
        return out

    return _capped(chunks, cap, lambda: inflater.eof)


def _zstd_compress(data: bytes) -> bytes:
    compressed: bytes = _module("zstandard").ZstdCompressor(level=3).compress(data)
    return compressed


def _zstd_decompress(data: bytes, cap: int) -> bytes:
    zstandard = _module("zstandard")
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=False)
    ended = [False]

    def chunks(size: int) -> bytes:
        out: bytes = reader.read(max(size, 1))
        ended[0] = not out
        return out

    with reader:
        out = _capped(chunks, cap, lambda: ended[0])
    size = zstandard.frame_content_size(data)
    if size >= 0 and size != len(out):
        raise ValueError("the zstd value is truncated")
    return out


def _lz4_compress(data: bytes) -> bytes:
    compressed: bytes = _module("lz4.frame").compress(data)
    return compressed


def _lz4_decompress(data: bytes, cap: int) -> bytes:
    decompressor = _module("lz4.frame").LZ4FrameDecompressor()
    pending = [data]

    def chunks(size: int) -> bytes:
        source = pending.pop() if pending else b""
        out: bytes = decompressor.decompress(source, max_length=max(size, 1))
        return out

    return _capped(chunks, cap, lambda: bool(decompressor.eof))


_BY_NAME = {
    "zlib": Compressor("zlib", b"z", "zlib", lambda data: zlib.compress(data, 6), _zlib_decompress),
    "zstd": Compressor("zstd", b"s", "zstandard", _zstd_compress, _zstd_decompress),
    "lz4": Compressor("lz4", b"l", "lz4.frame", _lz4_compress, _lz4_decompress),
}
_BY_LETTER = {each.letter: each for each in _BY_NAME.values()}


def compressor(name_or_letter: str | bytes) -> Compressor | None:
    """The compressor called ``name`` (str) or written as ``letter`` (bytes); None if none."""
    if isinstance(name_or_letter, bytes):
        return _BY_LETTER.get(name_or_letter)
    return _BY_NAME.get(name_or_letter)


def available(name: str) -> bool:
    """Whether the compressor ``name`` can run here (its extra is installed)."""
    found = compressor(name)
    if found is None:
        return False
    try:
        _module(found.module)
    except ImportError:
        return False
    return True
