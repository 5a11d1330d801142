"""The same decorated functions, views and templates on Flask-Caching and on cache_bridge give
the same call counts for the documented cases (skipped without flask-caching installed); the
documented differences are asserted as differences."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, render_template_string

from flask_cache_bridge import CacheBridge

flask_caching = pytest.importorskip("flask_caching")

LIBRARIES = [
    ("flask-caching", "memory"),
    ("cache_bridge", "memory"),
    pytest.param(("flask-caching", "redis"), marks=pytest.mark.redis),
    pytest.param(("cache_bridge", "redis"), marks=pytest.mark.redis),
]


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass
class Peer:
    app: Flask
    memoize: Callable[..., Decorator]
    delete_memoized: Callable[..., Any]
    cached: Callable[..., Decorator]


@pytest.fixture(params=LIBRARIES, ids="-".join)
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    library, store = request.param
    url = ""
    if store == "redis":
        request.getfixturevalue("redis_client")  # the session's server, emptied
        url = str(request.getfixturevalue("redis_url"))
    app = Flask(f"parity_{uuid.uuid4().hex[:8]}")
    app.config.update(TESTING=True, SECRET_KEY="parity")
    if library == "flask-caching":
        if url:
            app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=url)
        else:
            app.config.update(CACHE_TYPE="SimpleCache")
        app.config.update(CACHE_DEFAULT_TIMEOUT=60, CACHE_KEY_PREFIX="peer_")
        cache = flask_caching.Cache(app)

        def memoize(**options: Any) -> Any:
            options.pop("name", None)
            return cache.memoize(timeout=60, **options)

        yield Peer(app, memoize, cache.delete_memoized, lambda **o: cache.cached(timeout=60, **o))
        return
    app.config.update(
        CACHE_BRIDGE_URL=url or f"memory://parity-{uuid.uuid4().hex}",
        CACHE_BRIDGE_KEY_PREFIX="ours",
    )
    bridge = CacheBridge(app)

    def ours(**options: Any) -> Any:
        return bridge.memoize(60, **options)

    def cached(**options: Any) -> Any:
        options.pop("query_string", None)
        return bridge.cached(60, **options)

    def delete(function: Any, *args: Any, **kwargs: Any) -> Any:
        return bridge.delete_memoized(function, *args, **kwargs)

    yield Peer(app, ours, delete, cached)
    bridge.close(app)


def test_memoize_normalises_arguments_and_deletes(peer: Peer) -> None:
    runs: list[tuple[int, int]] = []

    @peer.memoize(name=f"add-{uuid.uuid4().hex}")
    def add(a: int, b: int = 2) -> int:
        runs.append((a, b))
        return a + b

    with peer.app.app_context():
        add(1, 2), add(1, b=2), add(a=1, b=2), add(1), add(3, 4)
        assert len(runs) == 2
        peer.delete_memoized(add, 1, 2)
        add(1, 2), add(3, 4)
        assert len(runs) == 3
        peer.delete_memoized(add)
        add(1, 2), add(3, 4)
        assert len(runs) == 5


@pytest.mark.parametrize(("cache_none", "expected"), [(False, 2), (True, 1)])
def test_cache_none(peer: Peer, cache_none: bool, expected: int) -> None:
    runs: list[int] = []

    @peer.memoize(cache_none=cache_none, name=f"nothing-{uuid.uuid4().hex}")
    def nothing(n: int) -> None:
        runs.append(n)

    with peer.app.app_context():
        nothing(1), nothing(1)
    assert len(runs) == expected


def test_unless_and_response_filter(peer: Peer) -> None:
    runs: list[int] = []
    skip = [True]

    @peer.memoize(unless=lambda: skip[0], name=f"u-{uuid.uuid4().hex}")
    def skipped(n: int) -> int:
        runs.append(n)
        return n

    @peer.memoize(response_filter=lambda value: value > 0, name=f"r-{uuid.uuid4().hex}")
    def filtered(n: int) -> int:
        runs.append(n)
        return n

    with peer.app.app_context():
        skipped(1), skipped(1)
        skip[0] = False
        skipped(1), skipped(1)
        filtered(-5), filtered(-5), filtered(5), filtered(5)
    assert runs == [1, 1, 1, -5, -5, 5]


def test_a_cached_view_and_the_query_string_difference(peer: Peer) -> None:
    runs: list[str] = []

    @peer.app.get("/p")
    @peer.cached(query_string=False)
    def page() -> str:
        runs.append("p")
        return "page"

    client = peer.app.test_client()
    client.get("/p"), client.get("/p")
    assert len(runs) == 1
    client.get("/p?a=1"), client.get("/p?a=2")
    # Documented difference: Flask-Caching's default key ignores the query string.
    assert len(runs) == (3 if _ours(peer) else 1)


def _ours(peer: Peer) -> bool:
    return "cache_bridge" in peer.app.extensions


def test_fragments_with_vary(peer: Peer) -> None:
    runs: list[str] = []

    def expensive(user: str) -> str:
        runs.append(user)
        return user

    page = "{% cache 60, 'side', user %}{{ expensive(user) }}{% endcache %}"
    with peer.app.test_request_context():
        for user in ("ada", "ada", "bob", "bob"):
            assert render_template_string(page, user=user, expensive=expensive) == user
    assert runs == ["ada", "bob"]
