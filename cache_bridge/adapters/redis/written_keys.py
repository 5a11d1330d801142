"""Which keys a command may have changed: what the near cache forgets after a write."""

from __future__ import annotations

from cache_bridge.engine.commands import Command

__all__ = ["keys_of"]


def keys_of(command: Command) -> tuple[str, ...] | None:
    """The keys a write touches, or None when it may touch any key (flush, scripts, ...)."""
    key = getattr(command, "key", None)
    if isinstance(key, str):
        return (key,)
    keys = getattr(command, "keys", None)
    if isinstance(keys, tuple) and all(isinstance(k, str) for k in keys):
        return keys
    items = getattr(command, "items", None)
    if isinstance(items, tuple) and all(isinstance(i, tuple) for i in items):
        return tuple(str(i[0]) for i in items)
    limits = getattr(command, "limits", None)  # rate-limit scripts: their counters' keys
    if isinstance(limits, tuple):
        return tuple(str(limit.key) for limit in limits)
    return None
