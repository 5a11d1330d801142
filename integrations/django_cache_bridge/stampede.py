"""``cache_page`` with stampede protection: a drop-in for ``django.views.decorators.cache.
cache_page`` (same arguments) on a BridgeCache alias, whose pages are computed once per key
across processes and, with ``StampedeSettings(stale_ttl=...)``, served stale while one request
renders the new page. See ``docs/stampede.md``.

What differs from Django's: a response's ``max-age`` shorter than ``timeout`` does not shorten
how long the page is stored (``max-age=0`` and ``private`` still mean "not cached"); the list of
request headers a URL varies on (Django's "header list" key) is kept ``headers_timeout``
seconds (default: a day, at least the page's whole life), so that it is known when the page
expires; until it is first known, requests render the page as Django's ``cache_page`` does.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.http import HttpRequest, HttpResponse
from django.utils.cache import (
    get_cache_key,
    get_max_age,
    has_vary_header,
    learn_cache_key,
    patch_response_headers,
)
from django.views.decorators.cache import cache_page as django_cache_page

from cache_bridge.errors import ConfigurationError
from cache_bridge.stampede import StampedeSettings
from django_cache_bridge.cache import BridgeCache

__all__ = ["cache_page"]

_DAY = 86_400


class _NotCacheable(Exception):
    """The view's response must not be stored (its leader serves it; waiters render their own)."""


class _PageCache:
    """One decorated view's caching: which alias, for how long, with what protection."""

    def __init__(
        self, timeout: float, alias: str, key_prefix: str | None, settings: StampedeSettings
    ) -> None:
        self.timeout = timeout
        self.alias = alias
        self.key_prefix = key_prefix
        self.settings = settings
        life = timeout + settings.stale_ttl
        self.headers_timeout = max(_DAY, 2 * life)

    def backend(self) -> BridgeCache:
        backend = caches[self.alias]
        if not isinstance(backend, BridgeCache):
            raise ConfigurationError(
                f"stampede cache_page needs a BridgeCache alias; CACHES[{self.alias!r}] is "
                f"{type(backend).__name__}: write cache='<a BridgeCache alias>' or use "
                "django.views.decorators.cache.cache_page"
            )
        return backend

    def key(self, request: HttpRequest, backend: BridgeCache) -> str | None:
        """The page's key, when the headers it varies on are known; ``None`` for a request
        that is not cached (only GET and HEAD are)."""
        if request.method not in ("GET", "HEAD"):
            return None
        return get_cache_key(request, self.key_prefix, "GET", cache=backend)

    def cacheable(self, request: HttpRequest, response: Any) -> bool:
        """Django's rules (``UpdateCacheMiddleware``): a 200, not streaming, not private, no
        ``max-age=0``, no cookie set for a page that varies on cookies."""
        if not isinstance(response, HttpResponse) or response.status_code != 200:
            return False
        if "private" in response.get("Cache-Control", "") or get_max_age(response) == 0:
            return False
        sets_cookies = bool(response.cookies) and not request.COOKIES
        return not (sets_cookies and has_vary_header(response, "Cookie"))

    def finished(self, request: HttpRequest, response: Any, backend: BridgeCache) -> Any:
        """The response ready to store (rendered, with its expiry headers), its header list
        learned; raises _NotCacheable for one that must not be stored."""
        if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
            response.render()
        if request.method not in ("GET", "HEAD") or not self.cacheable(request, response):
            raise _NotCacheable
        patch_response_headers(response, round(self.timeout))
        learn_cache_key(request, response, self.headers_timeout, self.key_prefix, cache=backend)
        return response


def _copy(response: Any) -> Any:
    """A response of its own: the waiters of one render share the object it stores, which is
    a copy taken before the rendering request's middleware touches its own."""
    return pickle.loads(pickle.dumps(response))  # our own object, never stored bytes


def cache_page(
    timeout: float,
    *,
    cache: str | None = None,
    key_prefix: str | None = None,
    stampede: bool | StampedeSettings = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Django's ``cache_page(timeout, cache=..., key_prefix=...)`` with stampede protection
    (``stampede=True``: the defaults; a :class:`StampedeSettings` to tune it, e.g. with
    ``stale_ttl``; ``False``: Django's own decorator). Sync and async views."""
    settings = StampedeSettings.coerce(stampede)
    if settings is None:
        return django_cache_page(timeout, cache=cache, key_prefix=key_prefix)
    page = _PageCache(timeout, cache or DEFAULT_CACHE_ALIAS, key_prefix, settings)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):
            return _async_view(view, page)
        return _sync_view(view, page)

    return decorate


def _sync_view(view: Callable[..., Any], page: _PageCache) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        backend = page.backend()
        key = page.key(request, backend)
        if key is None:  # not cached, or its header list not learned yet
            response = view(request, *args, **kwargs)
            stored = _first_store(page, request, response, backend)
            if stored is not None:
                backend.get_or_set(stored, lambda: response, page.timeout, stampede=page.settings)
            return response
        mine: list[Any] = []

        def compute() -> Any:
            response = view(request, *args, **kwargs)
            mine.append(response)
            return _copy(page.finished(request, response, backend))

        try:
            served = backend.get_or_set(key, compute, page.timeout, stampede=page.settings)
        except _NotCacheable:
            return mine[0] if mine else view(request, *args, **kwargs)
        return mine[0] if mine else _copy(served)

    return wrapped


def _async_view(view: Callable[..., Any], page: _PageCache) -> Callable[..., Any]:
    @wraps(view)
    async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        backend = page.backend()
        key = page.key(request, backend)
        if key is None:
            response = await view(request, *args, **kwargs)
            stored = _first_store(page, request, response, backend)
            if stored is not None:
                await backend.aget_or_set(
                    stored, lambda: response, page.timeout, stampede=page.settings
                )
            return response
        mine: list[Any] = []

        async def compute() -> Any:
            response = await view(request, *args, **kwargs)
            mine.append(response)
            return _copy(page.finished(request, response, backend))

        try:
            served = await backend.aget_or_set(key, compute, page.timeout, stampede=page.settings)
        except _NotCacheable:
            return mine[0] if mine else await view(request, *args, **kwargs)
        return mine[0] if mine else _copy(served)

    return wrapped


def _first_store(
    page: _PageCache, request: HttpRequest, response: Any, backend: BridgeCache
) -> str | None:
    """For a page whose header list was not known: learn it and return the key to store the
    response at (``None``: not cacheable, or not a GET/HEAD)."""
    if request.method not in ("GET", "HEAD"):
        return None
    try:
        page.finished(request, response, backend)
    except _NotCacheable:
        return None
    return get_cache_key(request, page.key_prefix, "GET", cache=backend)
