"""The ``CacheBridge`` Flask extension."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from returns.result import Result, Success

from cache_bridge import CacheProtocol, DomainError, SyncCacheProtocol
from cache_bridge.stampede import StampedeSettings
from flask_cache_bridge.cli import cache_cli
from flask_cache_bridge.failures import logger
from flask_cache_bridge.fragments import install as install_fragments
from flask_cache_bridge.function_cache import FunctionCache, cached_either, signing_keys
from flask_cache_bridge.limits import exempt, install_limits, limit, make_limit
from flask_cache_bridge.settings import (
    FOREIGN_KEYS,
    BridgeSettings,
    changed_keys,
    foreign_keys_left,
    limiter_keys_left,
    read_settings,
    snapshot,
    unasked_memory_store,
)
from flask_cache_bridge.state import EXTENSION_KEY, AppCache
from flask_cache_bridge.views import (
    VIEW_NAMESPACE,
    ViewCaching,
    cached_view,
    custom_key,
    invalidation_patterns,
)

__all__ = ["CacheBridge"]

F = TypeVar("F", bound=Callable[..., Any])


class CacheBridge(FunctionCache):
    """cache_bridge for Flask: ``CacheBridge(app)``, or ``CacheBridge()`` then ``init_app``.

    One object can serve several apps; each app's adapters and settings live in
    ``app.extensions["cache_bridge"]``, and ``cache`` / ``async_cache`` give the current
    app's.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and check ``app.config``, build the app's adapters, add ``flask cache``.

        Raises ``ConfigurationError`` (a ``ValueError``) naming the config key at fault.
        No connection is opened here. Warns (once, on the ``flask_cache_bridge`` logger) when
        the app runs on a per-process memory store it did not ask for, and at the first
        request when a key it read was changed after this call.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                f"CacheBridge is already initialised for app {app.name!r}; call init_app "
                "once per app"
            )
        state = AppCache(read_settings(app.config), app.name, signing_keys(app))
        app.extensions[EXTENSION_KEY] = state
        unasked = unasked_memory_store(app.config, app.name)
        if unasked is not None:
            logger.warning("cache_bridge: %s", unasked)
        for left in (
            foreign_keys_left(app.config, app.name),
            limiter_keys_left(app.config, app.name),
        ):
            if left is not None:
                logger.warning("cache_bridge: %s", left)
        # Release the pools when the app is garbage-collected or, at the latest, at exit.
        # Never per request: the pools are shared by every request of the app.
        weakref.finalize(app, state.close)
        install_limits(app, lambda: state.cache, _config_watch(app, state))
        install_fragments(app)
        if "cache" not in app.cli.commands:
            app.cli.add_command(cache_cli)

    def _state(self, app: Flask | None = None) -> AppCache:
        if app is None:
            if not has_app_context():
                raise RuntimeError(
                    "CacheBridge needs an application context to know which app's cache to "
                    "use: call it inside a request or a CLI command, or wrap the code in "
                    "`with app.app_context():`"
                )
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        state = app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, AppCache):
            raise RuntimeError(
                f"CacheBridge was not initialised for app {app.name!r}: call "
                "CacheBridge(app) or bridge.init_app(app) in your app factory"
            )
        return state

    @property
    def cache(self) -> SyncCacheProtocol:
        """The current app's blocking cache, for sync views, CLI commands and scripts."""
        return self._state().cache

    @property
    def async_cache(self) -> CacheProtocol:
        """The current app's async cache, safe in Flask's per-request event loops."""
        return self._state().async_cache

    @property
    def settings(self) -> BridgeSettings:
        """The current app's checked configuration."""
        return self._state().settings

    @property
    def description(self) -> str:
        """The current app's cache URL (password masked) and prefix, for logs and health pages."""
        return self._state().description

    def close(self, app: Flask | None = None) -> None:
        """Release ``app``'s (or the current app's) connections now; later calls fail with
        ``CacheClosedError``. Happens by itself when the app is collected or at exit."""
        self._state(app).close()

    def cached(
        self,
        ttl: int | None = None,
        *,
        query_string: bool = True,
        unless: Callable[..., bool] | None = None,
        key: Callable[..., str] | None = None,
        statuses: Collection[int] = (200,),
        response_filter: Callable[[Any], bool] | None = None,
        source_check: bool = False,
        cache_none: bool = False,
        name: str | None = None,
        stampede: bool | StampedeSettings | None = None,
    ) -> Callable[[F], F]:
        """Cache a view's response (status, headers, body) for ``ttl`` seconds, or, when the
        decorated function is called as a plain function (not dispatched by Flask to this
        view), its return value, as ``memoize`` does (see docs/flask.md#cached-functions).

        ``ttl`` defaults to ``CACHE_BRIDGE_DEFAULT_TTL``. Keys hold the path, the host, the
        scheme, the script root and, unless ``query_string=False``, the query arguments;
        ``key(**view_args)`` replaces all of them. ``unless()`` returning true skips the cache
        for that request. Only GET responses with a status in ``statuses`` are stored (HEAD is
        answered from them), and never ones that set a cookie, say
        ``Cache-Control: private/no-store/no-cache``, vary by request headers (unless ``key``
        is given), stream, or come from a view that used the session. When the cache fails,
        the view runs as if uncached and the failure is logged once per burst.
        ``response_filter``, ``source_check`` and ``cache_none`` apply to plain calls.
        ``stampede=True`` (or a :class:`~cache_bridge.stampede.StampedeSettings`): one render
        per page across processes, stale pages served while it renders (docs/stampede.md).
        """
        protection = StampedeSettings.coerce(stampede)
        caching = ViewCaching(ttl, query_string, unless, key, tuple(statuses), protection)

        def decorate(view: F) -> F:
            as_view = cached_view(view, caching, self._state)
            as_function = self.memoize(
                ttl,
                key=key,
                unless=unless,
                response_filter=response_filter,
                source_check=source_check,
                cache_none=cache_none,
                stampede=stampede,
                # Views are often defined inside factories: a name with <locals> is allowed
                # here (a view is defined once per app), unlike in memoize.
                name=name or f"{view.__module__}.{view.__qualname__}",
            )(view)
            return cached_either(view, as_view, as_function)

        return decorate

    def invalidate(self, path: str) -> Result[int, DomainError]:
        """Delete the cached responses of ``path``: every query string, host, scheme and
        script root of the current app. ``path`` is ``request.path`` or what ``url_for``
        returns (script root, percent-encoding and query string are understood); the count
        deleted."""
        cache = self.cache
        total = 0
        for pattern in invalidation_patterns(path):
            match cache.delete_pattern(pattern):
                case Success(deleted):
                    total += deleted
                case failed:
                    return failed
        return Success(total)

    def invalidate_key(self, key: str) -> Result[bool, DomainError]:
        """Delete the cached response stored under a custom ``key`` (from ``key=``)."""
        return self.cache.delete(custom_key(key))

    def invalidate_all(self) -> Result[int, DomainError]:
        """Delete every cached response of the current app (not its other keys)."""
        return self.cache.delete_pattern(VIEW_NAMESPACE + "*")

    def limit(
        self,
        rate: Any,
        *,
        key: str | Callable[[], Any] | None = None,
        methods: Collection[str] | None = None,
        algorithm: str | None = None,
        fail_open: bool | None = None,
        name: str | None = None,
        **options: Any,
    ) -> Callable[[F], F]:
        """Rate-limit a view (sync or async): ``@bridge.limit("10/minute", key="ip")``.

        Unset arguments come from ``CACHE_BRIDGE_RATELIMIT``; ``name`` (default: the
        endpoint) names the counter and the header policy. A refused request raises
        ``RateLimitExceeded`` (429). See docs/ratelimit.md.
        """
        built = make_limit(
            "bridge.limit",
            rate,
            name=name,
            key=key,
            methods=methods,
            algorithm=algorithm,
            fail_open=fail_open,
            **options,  # the rest of flask_cache_bridge.limit_settings.make_limit's options
        )

        def decorate(view: F) -> F:
            return limit(view, built)

        return decorate

    def exempt(self, view: F) -> F:
        """Exempt a view from ``CACHE_BRIDGE_RATELIMIT["DEFAULT_LIMITS"]``."""
        return exempt(view)


def _config_watch(app: Flask, state: AppCache) -> Callable[[], None]:
    """A ``before_request`` hook that reports, once, configuration set after ``init_app``:
    the extension read its keys there and does not see later changes."""
    before = snapshot(app.config)
    checked = False

    def watch() -> None:
        nonlocal checked
        if checked:  # one flag test per request after the first
            return
        checked = True
        changed = changed_keys(before, app.config)
        if not changed:
            return
        foreign = [
            f"{FOREIGN_KEYS[name]} instead of {name}" for name in changed if name in FOREIGN_KEYS
        ]
        logger.warning(
            "cache_bridge: app %r set %s after init_app; CacheBridge read its configuration when "
            "init_app ran and keeps using %s. Set the configuration before CacheBridge(app) or "
            "bridge.init_app(app)%s.",
            app.name,
            ", ".join(changed),
            state.description,
            f" (and set {'; '.join(foreign)}: cache_bridge does not read those keys)"
            if foreign
            else "",
        )

    return watch
