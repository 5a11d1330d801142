"""What the extension keeps for one app, in ``app.extensions["cache_bridge"]``."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from cache_bridge import (
    ConfigurationError,
    DomainError,
    InMemoryCache,
    SyncInMemoryCache,
    config,
    create_cache,
    create_sync_cache,
)
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.resilience.outage_log import OutageLog, is_outage
from cache_bridge.values import SigningKeys, ValueCodec
from flask_cache_bridge.failures import logger
from flask_cache_bridge.loop_thread import LoopThread
from flask_cache_bridge.settings import BridgeSettings
from flask_cache_bridge.shared import SharedAsyncCache, SharedSyncCache

__all__ = ["EXTENSION_KEY", "AppCache"]

#: The key of ``app.extensions`` under which an app's :class:`AppCache` lives.
EXTENSION_KEY = "cache_bridge"

#: Seconds an async call may wait for the background loop beyond the adapter's own limits.
_HAND_OFF_MARGIN = 1.0


def _config_error(exc: ConfigurationError) -> ConfigurationError:
    # The core lists key_prefix among the valid options; here it has its own config key.
    message = re.sub(r"\bkey_prefix, |, key_prefix\b", "", str(exc))
    return ConfigurationError(f"CACHE_BRIDGE_URL / CACHE_BRIDGE_OPTIONS: {message}")


def _no_secret() -> SigningKeys:
    raise ConfigurationError(
        "cached function values are signed with the app's SECRET_KEY: set app.config['SECRET_KEY']"
    )


class AppCache:
    """One app's adapters (one pool each), its log and how to release them.

    Building it checks the URL and options (``ConfigurationError`` on a mistake) but opens no
    connection. The blocking adapter has one thread-safe pool. The async face shares the
    in-memory store directly, or, for Redis, runs on a background event loop with one pool
    of its own (see :mod:`flask_cache_bridge.loop_thread`).
    """

    def __init__(
        self,
        settings: BridgeSettings,
        app_name: str,
        keys: Callable[[], SigningKeys] | None = None,
    ) -> None:
        self.settings = settings
        #: How memoized values, cached function values and fragments are stored.
        self.codec = ValueCodec(
            settings.serializer,
            compressor=settings.compressor,
            compress_min_bytes=settings.compress_min_bytes,
            keys=keys or _no_secret,
            logger=logger,
        )
        options = settings.adapter_options()
        try:
            parsed = config.parse(settings.url, options)
        except ConfigurationError as exc:
            raise _config_error(exc) from None
        self.description = parsed.describe()
        adapter = create_sync_cache(settings.url, **options)
        if not isinstance(adapter, SyncCache):  # pragma: no cover - every adapter is one
            raise TypeError(f"unexpected adapter {adapter!r}")
        #: The app's blocking adapter; the extension alone closes it.
        self.adapter: SyncCache = adapter
        #: The extension's log for this app (see :mod:`flask_cache_bridge.failures`).
        self.failures = OutageLog(self.description, log=logger, interval=settings.log_interval)
        # The in-memory adapter has no outage log of its own: the extension logs for it.
        self._adapter_logs_outages = not isinstance(adapter, SyncInMemoryCache)
        self._loop_thread: LoopThread | None = None
        self._async_adapter: AsyncCache
        wait = 0.0
        if isinstance(adapter, SyncInMemoryCache):
            # Same store, so both faces see the same data even for a private memory://.
            self._async_adapter = InMemoryCache(store=adapter.store, key_prefix=settings.key_prefix)
        else:
            async_adapter = create_cache(settings.url, **options)
            if not isinstance(async_adapter, AsyncCache):  # pragma: no cover
                raise TypeError(f"unexpected adapter {async_adapter!r}")
            self._async_adapter = async_adapter
            self._loop_thread = LoopThread(f"cache_bridge loop of {app_name}")
            # How long an async call waits for the background loop: the adapter's own
            # bound on one call, plus a margin.
            wait = parsed.call_bound() + _HAND_OFF_MARGIN
        self.cache = SharedSyncCache(adapter, self.description)
        self.async_cache = SharedAsyncCache(
            self._async_adapter, self.description, self._loop_thread, wait, self.failures
        )
        self._lock = threading.Lock()
        self.closed = False

    def failed(self, error: DomainError, consequence: str) -> None:
        """Log a failed call the extension carried on without, unless the adapter already
        logged it (an outage of a network adapter)."""
        if not (self._adapter_logs_outages and is_outage(error)):
            self.failures.failed(error, consequence)

    def close(self) -> None:
        """Release the app's connections; later calls return ``Failure(CacheClosedError)``."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self.async_cache.release()
        self.cache.release()
        if self._loop_thread is not None:
            self._loop_thread.close(self._async_adapter.aclose)
