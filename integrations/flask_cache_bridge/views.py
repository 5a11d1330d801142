"""The ``@bridge.cached`` view decorator: cache keys, and one request's steps (run for sync and
async views alike).

Keys live under ``view:`` inside the app's namespace:

- ``view:PATH:VARIANT`` for a path key. ``PATH`` is ``request.path`` percent-quoted (so it
  holds no ``:``, ``?`` or glob character), or ``#`` and its SHA-256 when long; ``VARIANT``
  is a hash of the host (with any subdomain and port), the scheme, the script root and,
  with ``query_string=True``, the query arguments sorted by name (values keep their order).
  ``invalidate(path)`` deletes ``view:PATH:*``: every variant of the path.
- ``view:=KEY`` for a custom key (``KEY`` over 700 characters is hashed).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import time
from collections.abc import Callable, Collection, Generator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from flask import Response, current_app, has_request_context, make_response, request
from returns.result import Failure, Result, Success

from cache_bridge import MAX_TTL, DomainError
from cache_bridge.faces import AsyncCache
from cache_bridge.stampede import StampedeSettings
from cache_bridge.values import ValueCodec
from flask_cache_bridge.conditional import STORED_AT, add_age, not_modified, tag
from flask_cache_bridge.failures import logger
from flask_cache_bridge.responses import rebuild, serialise, uncacheable_reason
from flask_cache_bridge.stampede import NotStored, protected
from flask_cache_bridge.state import AppCache

__all__ = [
    "VIEW_NAMESPACE",
    "ViewCaching",
    "cached_view",
    "custom_key",
    "invalidation_patterns",
    "path_key",
    "request_variant",
]

F = TypeVar("F", bound=Callable[..., Any])

VIEW_NAMESPACE = "view:"
# Longer paths and custom keys are stored under a hash, to stay inside the 1,024-character
# key limit.
_LONGEST_PATH = 700
# Characters left as they are in the path part of a key: never ``:``, ``%``, ``#``, ``=`` or
# a glob character, so the path part is unambiguous and needs no escaping in a pattern.
_PATH_SAFE = "/-._~!$&'()+,;@"
# Protected responses are stored as the unprotected ones are (JSON, unsigned), in an envelope.
_VIEW_CODEC = ValueCodec("json", sign=False)


def _digest(text: str, length: int = 64) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def _path_part(path: str) -> str:
    quoted = quote(path, safe=_PATH_SAFE, errors="surrogatepass")
    return quoted if len(quoted) <= _LONGEST_PATH else "#" + _digest(path)


def request_variant(query_string: bool) -> str:
    """The hash of what, besides the path, tells this request's responses apart: host,
    scheme, script root and (if ``query_string``) the query arguments, sorted by name only,
    so the values of a repeated argument keep their order."""
    query = sorted(request.args.items(multi=True), key=lambda pair: pair[0]) if query_string else []
    parts = [request.host, request.scheme, request.script_root, query]
    return _digest(json.dumps(parts, ensure_ascii=True), 32)


def path_key(path: str, variant: str) -> str:
    """The key of the cached response for ``path`` (as ``request.path``) and ``variant``."""
    return f"{VIEW_NAMESPACE}{_path_part(path)}:{variant}"


def _path_pattern(path: str) -> str:
    return f"{VIEW_NAMESPACE}{_path_part(path)}:*"


def _script_root() -> str:
    if has_request_context():
        return request.script_root
    root = current_app.config.get("APPLICATION_ROOT") or "/"
    return str(root).rstrip("/")


def invalidation_patterns(path: str) -> list[str]:
    """Globs matching every cached variant of ``path``.

    ``path`` may be written as the view sees it (``request.path``) or as ``url_for``
    returns it: percent-encoded, with the script root (``request.script_root``, or
    ``APPLICATION_ROOT`` outside a request), a query string, even scheme and host. Both
    readings are deleted (at worst one extra, unrelated path loses its entries).
    """
    url_path = unquote(urlsplit(path).path, errors="replace")
    root = _script_root()
    if root and (url_path == root or url_path.startswith(root + "/")):
        url_path = url_path[len(root) :] or "/"
    return list(dict.fromkeys([_path_pattern(path), _path_pattern(url_path)]))


def custom_key(key: str) -> str:
    """The stored key for a custom view key."""
    if len(key) > _LONGEST_PATH:
        return VIEW_NAMESPACE + "=#" + _digest(key)
    return VIEW_NAMESPACE + "=" + key


@dataclass(frozen=True)
class ViewCaching:
    """The options of one ``@bridge.cached(...)``."""

    ttl: int | None
    query_string: bool
    unless: Callable[[], bool] | None
    key: Callable[..., str] | None
    statuses: Collection[int]
    #: Stampede protection (docs/stampede.md); ``None``: off.
    stampede: StampedeSettings | None = None

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
    """The key for this request, or ``None`` when this request must bypass the cache.

    HEAD requests are answered from a stored GET response (Flask sends no body for HEAD)
    but never store one: a view may answer HEAD with an empty body.
    """
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
    return path_key(request.path, request_variant(caching.query_string))


def _hit(
    state: AppCache, caching: ViewCaching, found: Result[dict[str, Any] | None, DomainError]
) -> Response | None:
    match found:
        case Success(None):
            state.failures.recovered()
            return None
        case Success(stored):
            state.failures.recovered()
            response = rebuild(stored, caching.statuses)
            if response is not None:
                tag(response)  # entries stored before ETags were added get one too
                add_age(response, stored)
            return response
        case Failure(error):
            state.failed(error, "the view runs as if uncached")
    return None


def _entry(state: AppCache, caching: ViewCaching, response: Response) -> dict[str, Any] | None:
    if request.method != "GET":
        return None  # a HEAD answer may have no body: only GET responses are stored
    reason = uncacheable_reason(
        response, caching.statuses, state.settings.max_response_bytes, caching.key is not None
    )
    if reason is not None:
        logger.debug("cache_bridge: not caching %s: %s", request.path, reason)
        return None
    tag(response)
    return {**serialise(response), STORED_AT: time.time()}


def _stored(state: AppCache, done: Result[None, DomainError]) -> None:
    if isinstance(done, Failure):
        state.failed(done.failure(), "the response is not cached")
    else:
        state.failures.recovered()


#: What a view-caching generator yields: ``("view",)`` to call the view (it is sent the
#: view's return value), a cache method's name and arguments (it is sent the method's
#: Result), and last ``("done", answer)``.
_Steps = Generator[tuple[Any, ...], Any, None]


def _protected_steps(state: AppCache, caching: ViewCaching, key: str) -> _Steps:
    """One request under stampede protection: the stored response, or the one this request
    rendered, or (its leader's answer was not storable) a response of its own."""
    assert caching.stampede is not None
    mine: list[Response] = []

    def entry_of(answer: Any) -> dict[str, Any]:
        response = make_response(answer)
        mine.append(response)
        entry = _entry(state, caching, response)
        if entry is None:
            raise NotStored(None)  # the waiters render their own: it may be per user
        return entry

    ttl = caching.ttl or state.settings.default_ttl
    entry = yield ("stampede", key, ttl, entry_of, (caching.stampede, _VIEW_CODEC))
    response = mine[0] if mine else None
    if response is None and entry is not None:
        response = rebuild(entry, caching.statuses)
        if response is not None:
            tag(response)
            add_age(response, entry)
    if response is None:
        response = make_response((yield ("view",)))
    yield ("done", not_modified(response) or response)


def _view_steps(state: AppCache, caching: ViewCaching, view_args: dict[str, Any]) -> _Steps:
    """One request through the view cache, for a sync or an async view alike: the answer
    from the cache, or the view's (stored when it may be)."""
    key = _request_key(caching, view_args) if state.settings.view_cache else None
    if key is None:
        yield ("done", (yield ("view",)))
        return
    if caching.stampede is not None:
        yield from _protected_steps(state, caching, key)
        return
    hit = _hit(state, caching, (yield ("get_json", key)))
    if hit is not None:
        yield ("done", not_modified(hit) or hit)
        return
    response = make_response((yield ("view",)))
    entry = _entry(state, caching, response)
    if entry is not None:
        ttl = caching.ttl or state.settings.default_ttl
        done = yield ("set_json", key, entry, ttl)
        _stored(state, done)
        if isinstance(done, Success):  # the answer is known to the cache: it may be a 304
            response = not_modified(response) or response
    yield ("done", response)


def _answer(step: tuple[Any, ...], cache: Any, view: Callable[[], Any]) -> Any:
    """What ``step`` asks for: the view's answer or the cache method's Result (awaitables,
    for an async view and face)."""
    if step[0] == "stampede":
        _, key, ttl, entry_of, how = step
        compute = _compute(view, entry_of, tasks=isinstance(cache, AsyncCache))
        return protected(cache, key, compute, ttl, how)
    return view() if step[0] == "view" else getattr(cache, step[0])(*step[1:])


def _compute(
    view: Callable[[], Any], entry_of: Callable[[Any], Any], tasks: bool
) -> Callable[[], Any]:
    """What the stampede recipe calls: the view, then its stored form."""
    if tasks:

        async def compute_async() -> Any:
            return entry_of(await view())

        return compute_async
    return lambda: entry_of(view())


def _drive(steps: _Steps, cache: Any, view: Callable[[], Any]) -> Any:
    """Run :func:`_view_steps` with a blocking cache face and a sync view."""
    step = next(steps)
    while step[0] != "done":
        step = steps.send(_answer(step, cache, view))
    return step[1]


async def _adrive(steps: _Steps, cache: Any, view: Callable[[], Any]) -> Any:
    """Run :func:`_view_steps` with an async cache face and an async view."""
    step = next(steps)
    while step[0] != "done":
        step = steps.send(await _answer(step, cache, view))
    return step[1]


def cached_view(view: F, caching: ViewCaching, current: Callable[[], AppCache]) -> F:
    """Wrap ``view`` (sync or ``async def``) so its responses are cached per ``caching``."""
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            state = current()
            steps = _view_steps(state, caching, kwargs)
            return await _adrive(steps, state.async_cache, lambda: view(*args, **kwargs))

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = current()
        steps = _view_steps(state, caching, kwargs)
        return _drive(steps, state.cache, lambda: view(*args, **kwargs))

    return wrapper  # type: ignore[return-value]
