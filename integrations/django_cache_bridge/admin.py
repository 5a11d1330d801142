"""What the management commands (``cache_ping``, ``cache_flush``) do to a BridgeCache alias:
ping it, and count or delete its keys, all of them or those matching a glob.

Each returns the operation's ``Result`` as it is (the commands report failures themselves):
nothing here fails open.
"""

from __future__ import annotations

from django.core.cache.backends.base import default_key_func
from returns.result import Result

from cache_bridge.engine import bytes_operations, operations
from cache_bridge.engine.bytes_operations import UNPREFIXED, escape_glob
from cache_bridge.errors import DomainError
from django_cache_bridge.cache import BridgeCache

__all__ = [
    "alias_keys_description",
    "count_alias_keys",
    "count_keys",
    "delete_alias_keys",
    "delete_keys",
    "key_glob",
    "ping",
]


def ping(cache: BridgeCache) -> Result[bool, DomainError]:
    """``Success(True)`` if the alias's store answered a PING."""
    return cache.adapters().sync.run_operation(operations.ping(UNPREFIXED))


def key_glob(cache: BridgeCache, pattern: str | None = None) -> str:
    """A Redis glob over stored keys: with ``pattern``, the keys of the current VERSION
    matching it (as Django keys); without, every key of the alias (all versions)."""
    if pattern is None:
        return escape_glob(f"{cache.key_prefix}:") + "*"
    return escape_glob(f"{cache.key_prefix}:{cache.version}:") + pattern


def count_keys(cache: BridgeCache, glob: str) -> Result[int, DomainError]:
    """How many stored keys match ``glob`` (from :func:`key_glob`) now."""
    return cache.adapters().sync.run_operation(bytes_operations.count_pattern(UNPREFIXED, glob))


def delete_keys(cache: BridgeCache, glob: str) -> Result[int, DomainError]:
    """Delete the stored keys matching ``glob`` (from :func:`key_glob`); how many."""
    return cache.adapters().sync.run_operation(bytes_operations.delete_pattern(UNPREFIXED, glob))


def count_alias_keys(cache: BridgeCache) -> Result[int, DomainError]:
    """How many keys of the alias (every VERSION) are stored now: those
    ``KEY_PREFIX:<version>:...`` with the default key function, else all under
    ``KEY_PREFIX:``."""
    return cache.adapters().sync.run_operation(cache.alias_keys_op(delete=False))


def delete_alias_keys(cache: BridgeCache) -> Result[int, DomainError]:
    """Delete the keys :func:`count_alias_keys` counts (what ``clear()`` does when a
    KEY_PREFIX is set); how many."""
    return cache.adapters().sync.run_operation(cache.alias_keys_op(delete=True))


def alias_keys_description(cache: BridgeCache) -> str:
    """The keys :func:`count_alias_keys` counts, for messages."""
    if cache.key_func is default_key_func:
        return f"{cache.key_prefix}:<VERSION>:*"
    return f"{cache.key_prefix}:*"
