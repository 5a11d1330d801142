"""One SCAN walk over every primary of a cluster, behind one composite cursor.

A composite cursor is ``fingerprint << 79 | (first slot of the primary being scanned + 1) << 64
| that node's cursor``, and 0 to start or to end. The fingerprint is 16 bits of a hash of the
topology the walk started on: every primary's address with the lowest slot it serves. A node's
SCAN cursor means something on that node only (a promoted replica, or a node that took over a
slot, orders its keys otherwise), so a step whose topology no longer matches the cursor's
fingerprint fails with :class:`ClusterTopologyChangedError` instead of guessing where to go on:
a walk that cannot promise to have seen every key says so. The adapter also reads the slot
map again at the end of a walk, so a change that its cached map had not seen yet is caught too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cache_bridge.errors import ClusterTopologyChangedError

__all__ = [
    "ClusterTopologyChangedError",
    "Topology",
    "scan_position",
    "scan_reply",
    "topology_changed",
]

_NODE_CURSOR_BITS = 64
_NODE_CURSOR_MASK = (1 << _NODE_CURSOR_BITS) - 1
_SLOT_BITS = 15  # first slot + 1: 1 to 16384
_SLOT_MASK = (1 << _SLOT_BITS) - 1
_FINGERPRINT_SHIFT = _NODE_CURSOR_BITS + _SLOT_BITS


@dataclass(frozen=True, slots=True)
class Topology:
    """The primaries as a walk sees them: the lowest slot each serves, in slot order, and a
    fingerprint of (address, lowest slot) of every primary."""

    firsts: tuple[int, ...]
    fingerprint: int

    @classmethod
    def of(cls, slots: Mapping[int, Sequence[Any]]) -> Topology:
        """The topology in redis-py's slot cache (slot -> nodes, primary first)."""
        seen: dict[str, int] = {}
        previous: object = None
        for slot in sorted(slots):
            nodes = slots[slot]
            if nodes is previous:  # redis-py shares one list per slot range: skip the rest
                continue
            previous = nodes
            if nodes:
                seen.setdefault(str(nodes[0].name), slot)
        pairs = sorted((first, name) for name, first in seen.items())
        digest = hashlib.blake2b(repr(pairs).encode(), digest_size=2).digest()
        return cls(tuple(first for first, _ in pairs), int.from_bytes(digest, "big"))


def topology_changed() -> ClusterTopologyChangedError:
    """The error of a walk whose topology changed."""
    return ClusterTopologyChangedError(
        "the cluster's topology changed during the walk over its primaries (a slot moved or "
        "a replica took over), so some keys may not have been visited; run it again",
        operation="",
    )


def scan_position(cursor: int, topology: Topology) -> tuple[int, int]:
    """The slot whose primary to scan next and that node's cursor; raises
    :class:`ClusterTopologyChangedError` if ``cursor`` was made on another topology."""
    if not topology.firsts:
        raise topology_changed()  # a slot map without primaries: nothing to walk on
    if cursor == 0:
        return topology.firsts[0], 0
    if cursor < 0 or cursor >> _FINGERPRINT_SHIFT != topology.fingerprint:
        raise topology_changed()
    slot = ((cursor >> _NODE_CURSOR_BITS) & _SLOT_MASK) - 1
    if slot not in topology.firsts:
        raise topology_changed()
    return slot, cursor & _NODE_CURSOR_MASK


def scan_reply(topology: Topology, node_reply: Any, slot: int) -> tuple[int, list[Any]]:
    """The ``(composite cursor, keys)`` reply of a SCAN step, given the reply of the node
    that serves ``slot`` (redis-py's cluster client wraps the node's cursor in a dict)."""
    node_cursor, keys = node_reply
    if isinstance(node_cursor, dict):
        (node_cursor,) = node_cursor.values()
    node_cursor = int(node_cursor)
    tag = topology.fingerprint << _FINGERPRINT_SHIFT
    if node_cursor != 0:
        return tag | (slot + 1) << _NODE_CURSOR_BITS | node_cursor, list(keys)
    later = [first for first in topology.firsts if first > slot]
    if not later:
        return 0, list(keys)
    return tag | (later[0] + 1) << _NODE_CURSOR_BITS, list(keys)
