"""What the extension keeps for one app, in ``app.extensions["cache_bridge"]``."""

from __future__ import annotations

import threading

from cache_bridge import (
    CacheProtocol,
    ConfigurationError,
    InMemoryCache,
    SyncCacheProtocol,
    SyncInMemoryCache,
    config,
    create_cache,
    create_sync_cache,
)
from flask_cache_bridge.failures import FailureLog
from flask_cache_bridge.loop_thread import LoopThread
from flask_cache_bridge.settings import BridgeSettings
from flask_cache_bridge.shared import SharedAsyncCache, SharedSyncCache

__all__ = ["EXTENSION_KEY", "AppCache"]

#: The key of ``app.extensions`` under which an app's :class:`AppCache` lives.
EXTENSION_KEY = "cache_bridge"


class AppCache:
    """One app's adapters (one pool each), its fail-open log and how to release them.

    Building it checks the URL and options (``ConfigurationError`` on a mistake) but opens no
    connection. The blocking adapter has one thread-safe pool. The async face shares the
    in-memory store directly, or, for Redis, runs on a background event loop with one pool
    of its own (see :mod:`flask_cache_bridge.loop_thread`).
    """

    def __init__(self, settings: BridgeSettings, app_name: str) -> None:
        self.settings = settings
        options = settings.adapter_options()
        try:
            self.description = config.parse(settings.url, options).describe()
        except ConfigurationError as exc:
            raise ConfigurationError(f"CACHE_BRIDGE_URL / CACHE_BRIDGE_OPTIONS: {exc}") from None
        self._adapter = create_sync_cache(settings.url, **options)
        self._loop_thread: LoopThread | None = None
        self._async_adapter: CacheProtocol
        if isinstance(self._adapter, SyncInMemoryCache):
            # Same store, so both faces see the same data even for a private memory://.
            self._async_adapter = InMemoryCache(
                store=self._adapter.store, key_prefix=settings.key_prefix
            )
        else:
            self._loop_thread = LoopThread(f"cache_bridge loop of {app_name}")
            self._async_adapter = create_cache(settings.url, **options)
        self.adapter: SyncCacheProtocol = self._adapter
        self.cache = SharedSyncCache(self._adapter)
        self.async_cache = SharedAsyncCache(self._async_adapter, self._loop_thread)
        self.failures = FailureLog(settings.log_interval)
        self._lock = threading.Lock()
        self.closed = False

    def close(self) -> None:
        """Release the app's connections; later calls return ``Failure(CacheClosedError)``."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self.async_cache.mark_closed()
        self._adapter.close()
        if self._loop_thread is not None:
            self._loop_thread.close(self._async_adapter.aclose)
