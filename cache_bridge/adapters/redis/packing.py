"""Argument lists packed into RESP for a redis-py connection, written once for the blocking
executors and the async pipelines.

redis-py's own packer encodes every argument in Python (its ``Encoder``) before hiredis packs
them; for the arguments this library sends (``str``, ``bytes`` and ``int``; a command name of
one word; the connection's default UTF-8, strict) hiredis packs the same bytes by itself, about
ten times faster (``tests/adapters/redis/test_packing.py`` holds the two to the same bytes).
Anything else (a float, a bool, a ``memoryview``, another encoding, hiredis missing) is packed
by redis-py as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - hiredis comes with the redis extra
    _hiredis_pack = None

__all__ = ["pack", "pack_many"]

#: The argument types hiredis packs exactly as redis-py's encoder does (bool, an int
#: subclass, is not one of them: ``type`` is compared, not ``isinstance``).
_PLAIN = frozenset((str, bytes, int))
#: Packed commands are joined into buffers of up to the connection's ``_buffer_cutoff``
#: (one ``sendall`` each); a larger one is sent as it is, as redis-py does. Its default:
_CUTOFF = 6000


def _plain(conn: Any, args: Sequence[Any]) -> bool:
    if _hiredis_pack is None or " " in args[0]:
        return False
    encoder = conn.encoder
    if encoder.encoding != "utf-8" or encoder.encoding_errors != "strict":
        return False
    return _PLAIN.issuperset(map(type, args))  # every argument's type one of them


def pack(conn: Any, args: Sequence[Any]) -> list[bytes]:
    """``args`` as ``conn.pack_command(*args)`` packs them (a list of chunks to send)."""
    if _plain(conn, args):
        return [_hiredis_pack(tuple(args))]  # type: ignore[misc]  # not None: _plain
    packed: list[bytes] = conn.pack_command(*args)
    return packed


def pack_many(conn: Any, commands: Sequence[Sequence[Any]]) -> list[bytes]:
    """``commands`` as ``conn.pack_commands(commands)`` packs them: small commands joined
    into buffers of up to the connection's cutoff, a larger one a chunk of its own."""
    cutoff: int = getattr(conn, "_buffer_cutoff", _CUTOFF)
    output: list[bytes] = []
    pieces: list[bytes] = []
    size = 0
    for args in commands:
        for chunk in pack(conn, args):
            if size > cutoff or len(chunk) > cutoff:
                if pieces:
                    output.append(b"".join(pieces))
                pieces, size = [], 0
            if len(chunk) > cutoff:
                output.append(chunk)
            else:
                pieces.append(chunk)
                size += len(chunk)
    if pieces:
        output.append(b"".join(pieces))
    return output
