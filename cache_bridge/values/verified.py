"""Signed values whose signature already checked out, so that a value read many times from
one copy in process memory (the near cache, docs/near-cache.md) is verified once per copy,
not once per read.

What is kept is the **bytes object** that verified, with the stored key and the keys it
verified under, never a decoded value: a read of a kept value still decodes it afresh, so
callers never share a mutable value (as Django's local-memory cache unpickles on each get).
A MAC is a function of (marker, key, payload, secret) only; the bytes object is immutable and
held here, so no other object can take its identity while it is kept. A value is therefore
taken as verified only when it is the very same object, at the same key, under the same
:class:`~cache_bridge.values.signing.SigningKeys` (a rotated secret makes new keys, and every
kept value is checked again).
"""

from __future__ import annotations

import os
import threading
import weakref

from cache_bridge.values.signing import SigningKeys

__all__ = ["Verified"]


class Verified:
    """At most ``entries`` verified values and ``max_bytes`` of them (0 entries: none kept,
    every read is verified), the oldest forgotten first."""

    def __init__(self, entries: int = 0, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._kept: dict[str, tuple[bytes, SigningKeys]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        _instances.add(self)

    def holds(self, key: str, data: bytes, keys: SigningKeys) -> bool:
        """Whether ``data`` (this very object) verified at ``key`` under ``keys``."""
        kept = self._kept.get(key)
        return kept is not None and kept[0] is data and kept[1] is keys

    def add(self, key: str, data: bytes, keys: SigningKeys) -> None:
        """Remember that ``data`` verified at ``key`` under ``keys``."""
        if not self.entries or len(data) > self.max_bytes:
            return
        with self._lock:
            self._forget(key)
            self._kept[key] = (data, keys)
            self._bytes += len(data)
            while len(self._kept) > self.entries or self._bytes > self.max_bytes:
                self._forget(next(iter(self._kept)))

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        """Forget every kept value (each is verified again on its next read)."""
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (another thread may have held the parent's at
        the fork)."""
        self._lock = threading.Lock()

    def _forget(self, key: str) -> None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._bytes -= len(kept[0])


_instances: weakref.WeakSet[Verified] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for verified in list(_instances):
        verified.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
