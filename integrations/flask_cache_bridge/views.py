"""The ``@bridge.cached`` view decorator: cache keys, and the sync and async wrappers.

Keys live under ``view:`` inside the app's namespace: ``view:/path`` (plus ``?HASH`` of the
sorted query string when ``query_string=True``) or ``view:=KEY`` for a custom key.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Response, make_response, request
from returns.result import Failure, Result, Success

from cache_bridge import MAX_TTL, DomainError
from cache_bridge.keys import escape_glob
from flask_cache_bridge.failures import logger
from flask_cache_bridge.responses import rebuild, serialise, uncacheable_reason
from flask_cache_bridge.state import AppCache

__all__ = ["ViewCaching", "cached_view", "custom_key", "path_key", "path_pattern"]

F = TypeVar("F", bound=Callable[..., Any])

VIEW_NAMESPACE = "view:"
# Paths longer than this are stored under a hash, to stay inside the 1,024-character key limit.
_LONGEST_PATH = 700


def _path_part(path: str) -> str:
    if len(path) <= _LONGEST_PATH:
        return path
    return "#" + hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()


def path_key(path: str, query: list[tuple[str, str]] | None = None) -> str:
    """The key of the cached response for ``path`` and, if given, its query arguments."""
    key = VIEW_NAMESPACE + _path_part(path)
    if query:
        canonical = urlencode(sorted(query)).encode("utf-8", "surrogatepass")
        key += "?" + hashlib.sha256(canonical).hexdigest()[:32]
    return key


def path_pattern(path: str) -> str:
    """A glob matching the cached responses of ``path`` with any query string."""
    return escape_glob(VIEW_NAMESPACE + _path_part(path) + "?") + "*"


def custom_key(key: str) -> str:
    """The stored key for a custom view key."""
    if len(key) > _LONGEST_PATH:
        return VIEW_NAMESPACE + "=#" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return VIEW_NAMESPACE + "=" + key


@dataclass(frozen=True)
class ViewCaching:
    """The options of one ``@bridge.cached(...)``."""

    ttl: int | None
    query_string: bool
    unless: Callable[[], bool] | None
    key: Callable[..., str] | None
    statuses: Collection[int]

    def __post_init__(self) -> None:
        if self.ttl is not None and (
            isinstance(self.ttl, bool)
            or not isinstance(self.ttl, int)
            or not 1 <= self.ttl <= MAX_TTL
        ):
            raise ValueError(
                f"cached(ttl=...) must be an int from 1 to {MAX_TTL}, not {self.ttl!r}"
            )
        for name, value in (("unless", self.unless), ("key", self.key)):
            if value is not None and not callable(value):
                raise TypeError(f"cached({name}=...) must be a callable, not {value!r}")
        if not self.statuses or not all(
            isinstance(s, int) and 100 <= s <= 599 for s in self.statuses
        ):
            raise ValueError(
                f"cached(statuses=...) must be HTTP status codes, not {self.statuses!r}"
            )


def _request_key(caching: ViewCaching, view_args: dict[str, Any]) -> str | None:
    """The key for this request, or ``None`` when this request must bypass the cache."""
    if request.method not in ("GET", "HEAD"):
        return None
    if caching.key is None and "Authorization" in request.headers:
        # Answers to authenticated requests are per user (RFC 9111, section 3.5).
        return None
    if caching.unless is not None and caching.unless():
        return None
    if caching.key is not None:
        value = caching.key(**view_args)
        if not isinstance(value, str) or not value:
            raise TypeError(
                f"the key function of @cached must return a non-empty str, not {value!r}"
            )
        return custom_key(value)
    query = list(request.args.items(multi=True)) if caching.query_string else None
    return path_key(request.path, query)


def _hit(
    state: AppCache, key: str, found: Result[dict[str, Any] | None, DomainError]
) -> Response | None:
    match found:
        case Success(None):
            state.failures.succeeded()
            return None
        case Success(stored):
            state.failures.succeeded()
            return rebuild(stored)
        case Failure(error):
            state.failures.failed(error, f"reading the cached view {key!r}")
    return None


def _entry(state: AppCache, caching: ViewCaching, response: Response) -> dict[str, Any] | None:
    reason = uncacheable_reason(
        response, caching.statuses, state.settings.max_response_bytes, caching.key is not None
    )
    if reason is not None:
        logger.debug("cache_bridge: not caching %s: %s", request.path, reason)
        return None
    return serialise(response)


def _stored(state: AppCache, key: str, done: Result[None, DomainError]) -> None:
    match done:
        case Success(_):
            state.failures.succeeded()
        case Failure(error):
            state.failures.failed(error, f"storing the cached view {key!r}")


def cached_view(view: F, caching: ViewCaching, current: Callable[[], AppCache]) -> F:
    """Wrap ``view`` (sync or ``async def``) so its responses are cached per ``caching``."""
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            state = current()
            key = _request_key(caching, kwargs) if state.settings.view_cache else None
            if key is None:
                return await view(*args, **kwargs)
            hit = _hit(state, key, await state.async_cache.get_json(key))
            if hit is not None:
                return hit
            response = make_response(await view(*args, **kwargs))
            entry = _entry(state, caching, response)
            if entry is not None:
                ttl = caching.ttl or state.settings.default_ttl
                _stored(state, key, await state.async_cache.set_json(key, entry, ttl))
            return response

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = current()
        key = _request_key(caching, kwargs) if state.settings.view_cache else None
        if key is None:
            return view(*args, **kwargs)
        hit = _hit(state, key, state.cache.get_json(key))
        if hit is not None:
            return hit
        response = make_response(view(*args, **kwargs))
        entry = _entry(state, caching, response)
        if entry is not None:
            ttl = caching.ttl or state.settings.default_ttl
            _stored(state, key, state.cache.set_json(key, entry, ttl))
        return response

    return wrapper  # type: ignore[return-value]
