"""Helpers shared by the Django tests (plain functions: fixtures live in each module)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

from django.core.cache import caches

from cache_bridge.engine import bytes_operations
from cache_bridge.engine.keys import KeySpace
from django_cache_bridge.cache import BridgeCache

BRIDGE = "django_cache_bridge.cache.BridgeCache"
#: Short timeouts for caches pointed at a port where nothing listens.
DEAD_OPTIONS = {"timeout": 0.2, "connect_timeout": 0.2}
_RAW = KeySpace(None)


def alias(location: str, **params: Any) -> dict[str, Any]:
    """A CACHES entry for BridgeCache."""
    return {"BACKEND": BRIDGE, "LOCATION": location, **params}


def fresh_memory() -> str:
    """A memory:// URL naming a store no other test uses."""
    return f"memory://dj-{uuid.uuid4().hex}"


def dead_redis_url() -> str:
    """A Redis URL on a loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def clocked_aliases(clock: Any) -> dict[str, Any]:
    """CACHES for the rate-limit tests: ``default`` a fresh memory store on ``clock``,
    ``dead`` a Redis URL where nothing listens."""
    return {
        "default": alias(fresh_memory(), KEY_PREFIX="site", OPTIONS={"clock": clock}),
        "dead": alias(dead_redis_url(), KEY_PREFIX="dead", OPTIONS=DEAD_OPTIONS),
    }


def bridge(name: str = "default") -> BridgeCache:
    cache = caches[name]
    assert isinstance(cache, BridgeCache)
    return cache


def stored(cache: BridgeCache, key: str, version: int | None = None) -> bytes | None:
    """The bytes stored for a Django key, read below the backend."""
    made = cache.make_key(key, version=version)
    result = cache.adapters().sync.run_operation(bytes_operations.get_bytes(_RAW, made))
    return result.unwrap()


def plant(cache: BridgeCache, key: str, data: bytes) -> None:
    """Write bytes for a Django key below the backend (as an attacker with Redis access)."""
    made = cache.make_key(key)
    cache.adapters().sync.run_operation(bytes_operations.set_bytes(_RAW, made, data)).unwrap()


def plant_raw(cache: BridgeCache, full_key: str, data: bytes) -> None:
    """Write bytes at a full stored key (no prefix or version added) in the cache's store."""
    cache.adapters().sync.run_operation(bytes_operations.set_bytes(_RAW, full_key, data)).unwrap()


def stored_keys(cache: BridgeCache) -> set[str]:
    """Every stored key of the cache's database or store (including other aliases')."""
    from cache_bridge.engine.commands import Scan

    adapter = cache.adapters().sync
    reply = adapter._execute(Scan(0, "*", 100_000))
    keys: set[str] = set()
    cursor, found = reply
    keys.update(k.decode() if isinstance(k, bytes) else k for k in found)
    # Redis may need more SCAN calls; a bounded loop keeps the helper finite.
    for _ in range(1000):
        if int(cursor) == 0:
            break
        cursor, found = adapter._execute(Scan(int(cursor), "*", 100_000))
        keys.update(k.decode() if isinstance(k, bytes) else k for k in found)
    return keys


class SubBridgeCache(BridgeCache):
    """A project's own subclass: still a bridge alias for the checks and commands."""


#: Appended to by :class:`Exploit` whenever a stored Exploit is unpickled: it must stay empty.
exploited: list[str] = []


def _record(what: str) -> str:
    exploited.append(what)
    return what


class Exploit:
    """A pickle that records that it was unpickled (a stand-in for a code-execution payload)."""

    def __reduce__(self) -> Any:
        return (_record, ("unpickled",))


def configured_bridge(settings: Any, location: str) -> Iterator[Any]:
    """Body of a ``configure`` fixture: ``configure(**OPTIONS)`` points the default alias at
    ``location`` with those OPTIONS and returns its BridgeCache; :data:`exploited` starts empty
    and the alias is cleared afterwards."""

    def configure(**options: Any) -> BridgeCache:
        settings.CACHES = {"default": alias(location, KEY_PREFIX="v", OPTIONS=options)}
        return bridge()

    exploited.clear()
    yield configure
    bridge().clear()
