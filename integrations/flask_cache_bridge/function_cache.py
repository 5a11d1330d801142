"""The extension's function cache: ``memoize``, ``delete_memoized`` and ``cached`` on plain
functions (see :mod:`flask_cache_bridge.memoize` for the keys and the generation counter)."""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from flask import Flask, current_app, has_request_context, request
from returns.result import Failure, Result

from cache_bridge import ConfigurationError, DomainError
from cache_bridge.stampede import StampedeSettings
from cache_bridge.values import KeyRing, SigningKeys
from flask_cache_bridge.fragments import fragment_key, fragment_pattern
from flask_cache_bridge.memoize import (
    FunctionCaching,
    function_name,
    mark,
    memoized,
    policy_of,
    with_source,
)
from flask_cache_bridge.state import AppCache

__all__ = ["FunctionCache", "cached_either", "signing_keys"]

F = TypeVar("F", bound=Callable[..., Any])


def signing_keys(app: Flask) -> Callable[[], SigningKeys]:
    """The signing keys of ``app``'s ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``, read on
    every use (a rotated key is followed)."""
    ring = KeyRing()
    app_ref = weakref.ref(app)

    def keys() -> SigningKeys:
        found = app_ref()
        secret = found.config.get("SECRET_KEY") if found is not None else None
        if found is None or not secret:
            raise ConfigurationError(
                "bridge.memoize, bridge.cached on functions and {% cache %} fragments sign "
                "what they store with the app's SECRET_KEY: set app.config['SECRET_KEY']"
            )
        return ring.keys(secret, list(found.config.get("SECRET_KEY_FALLBACKS") or []))

    return keys


def _dispatched(wrapper: Callable[..., Any]) -> bool:
    """Whether Flask is dispatching the current request to ``wrapper`` (directly, or through
    decorators that keep ``__wrapped__``)."""
    if not has_request_context() or request.endpoint is None:
        return False
    view: Any = current_app.view_functions.get(request.endpoint)
    while view is not None:
        if view is wrapper:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def cached_either(function: F, as_view: Callable[..., Any], as_function: Callable[..., Any]) -> F:
    """One wrapper that answers as ``as_view`` when Flask dispatches a request to it, and as
    ``as_function`` (a cached value) when it is called as a plain function."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_either(*args: Any, **kwargs: Any) -> Any:
            chosen = as_view if _dispatched(async_either) else as_function
            return await chosen(*args, **kwargs)

        either: Callable[..., Any] = async_either
    else:

        @functools.wraps(function)
        def sync_either(*args: Any, **kwargs: Any) -> Any:
            chosen = as_view if _dispatched(sync_either) else as_function
            return chosen(*args, **kwargs)

        either = sync_either
    policy, _ = policy_of(as_function)
    return mark(either, policy)  # type: ignore[return-value]


class FunctionCache:
    """The function-cache half of :class:`flask_cache_bridge.CacheBridge`."""

    def _state(self, app: Flask | None = None) -> AppCache:
        raise NotImplementedError

    def memoize(
        self,
        ttl: int | None = None,
        *,
        key: Callable[..., str] | str | None = None,
        key_self: bool = False,
        ignore: Collection[str] = (),
        cache_none: bool = False,
        unless: Callable[..., bool] | None = None,
        response_filter: Callable[[Any], bool] | None = None,
        source_check: bool = False,
        name: str | None = None,
        stampede: bool | StampedeSettings | None = None,
    ) -> Callable[[F], F]:
        """Cache a function's (or method's) return value per call arguments for ``ttl``
        seconds (default ``CACHE_BRIDGE_DEFAULT_TTL``). See docs/flask.md#memoize.
        ``stampede=True`` (or a :class:`~cache_bridge.stampede.StampedeSettings`): one
        computation per call's key across processes, with stale-while-revalidate and early
        refresh as set (docs/stampede.md)."""
        protection = StampedeSettings.coerce(stampede)

        def decorate(function: F) -> F:
            kind = type(function) if isinstance(function, classmethod | staticmethod) else None
            inner: Callable[..., Any] = function.__func__ if kind else function  # type: ignore[attr-defined]
            policy = FunctionCaching(
                inner,
                function_name(inner, name),
                ttl,
                key,
                key_self,
                tuple(ignore),
                cache_none,
                unless,
                response_filter,
                with_source(inner, source_check),
                protection,
            )
            wrapper = memoized(inner, policy, self._state)
            return kind(wrapper) if kind else wrapper  # type: ignore[return-value]

        return decorate

    def delete_memoized(
        self, function: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Result[int, DomainError]:
        """Delete the entry of one call of a memoized ``function`` (given its arguments; a bound
        method supplies its instance), or, with no arguments, every entry of ``function`` and
        nothing else. The count deleted (every entry: at least the generation bump)."""
        policy, bound = policy_of(function)
        state = self._state()
        cache = state.cache
        if not args and not kwargs:
            match cache.increment(policy.generation_key):
                case Failure() as failed:
                    return failed
            return cache.delete_pattern(policy.pattern())
        if policy.first_parameter == "self" and not bound and not policy.key_self:
            bound = (None,)
        return cache.delete(policy.entry_key((*bound, *args), kwargs)).map(int)

    def invalidate_fragment(self, name: str, *vary: Any) -> Result[int, DomainError]:
        """Delete the ``{% cache ttl, name, *vary %}`` fragment of these vary values, or, with
        none, every variant of the fragment ``name``; the count deleted."""
        cache = self._state().cache
        if vary:
            return cache.delete(fragment_key(name, vary)).map(int)
        return cache.delete_pattern(fragment_pattern(name))
