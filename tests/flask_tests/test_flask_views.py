"""``@bridge.cached`` on the in-memory store: what is cached, what is not, keys, invalidation.

Each view counts its runs, so "served from the cache" means "the view did not run".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from flask import Flask, Response, request, session
from flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401
from returns.result import Success

from flask_cache_bridge import CacheBridge


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app(CACHE_BRIDGE_KEY_PREFIX="views", SECRET_KEY="test")


def counted_app(app: Flask, bridge: CacheBridge, **cached: object) -> list[str]:
    """Add ``/page/<name>`` (sync) and ``/async/<name>``, cached with ``cached``; returns the
    list each run appends to."""
    runs: list[str] = []

    @app.get("/page/<name>")
    @bridge.cached(**cached)  # type: ignore[arg-type]
    def page(name: str) -> Response:
        runs.append(name)
        response = Response(f"page {name} run {len(runs)} q={request.args.get('q')}")
        response.headers["X-Custom"] = "kept"
        response.mimetype = "text/x-test"
        return response

    @app.get("/async/<name>")
    @bridge.cached(**cached)  # type: ignore[arg-type]
    async def async_page(name: str) -> str:
        runs.append(name)
        return f"async {name} run {len(runs)}"

    return runs


@pytest.mark.parametrize("path", ["/page/a", "/async/a"])
def test_the_second_request_is_served_from_the_cache(
    app: Flask, bridge: CacheBridge, path: str
) -> None:
    runs = counted_app(app, bridge, ttl=60)
    client = app.test_client()
    first = client.get(path)
    second = client.get(path)
    assert runs == ["a"]
    assert second.status_code == first.status_code == 200
    assert second.data == first.data
    assert second.headers.get("Content-Type") == first.headers.get("Content-Type")
    assert second.headers.get("X-Custom") == first.headers.get("X-Custom")
    with app.app_context():
        assert bridge.cache.ttl("view:" + path) == Success(60)


def test_the_default_ttl_comes_from_the_config(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_DEFAULT_TTL=42)
    counted_app(app, bridge)
    app.test_client().get("/page/a")
    with app.app_context():
        assert bridge.cache.ttl("view:/page/a") == Success(42)


def test_query_strings_get_their_own_entries_in_any_order(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge)
    client = app.test_client()
    assert "q=1" in client.get("/page/a?q=1&r=2").text
    assert "q=1" in client.get("/page/a?r=2&q=1").text
    assert "q=2" in client.get("/page/a?q=2&r=2").text
    assert "q=None" in client.get("/page/a").text
    assert len(runs) == 3


def test_query_string_false_shares_one_entry(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge, query_string=False)
    client = app.test_client()
    client.get("/page/a?q=1")
    assert "q=1" in client.get("/page/a?q=2").text
    assert len(runs) == 1


def test_unless_skips_the_cache(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge, unless=lambda: request.args.get("fresh") == "1")
    client = app.test_client()
    client.get("/page/a?fresh=1")
    client.get("/page/a?fresh=1")
    assert len(runs) == 2
    with app.app_context():
        assert bridge.invalidate_all() == Success(0)  # nothing was stored


def test_a_custom_key_gets_the_view_arguments(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge, key=lambda name: f"by-name:{name.lower()}")
    client = app.test_client()
    client.get("/page/Ada")
    assert "page Ada" in client.get("/page/ADA").text
    assert runs == ["Ada"]
    with app.app_context():
        assert bridge.invalidate_key("by-name:ada") == Success(True)
    client.get("/page/ADA")
    assert runs == ["Ada", "ADA"]


def test_a_key_function_returning_no_str_is_a_programming_error(
    app: Flask, bridge: CacheBridge
) -> None:
    counted_app(app, bridge, key=lambda name: None)
    with pytest.raises(TypeError, match="must return a non-empty str"):
        app.test_client().get("/page/a")


def test_invalidate_a_path_drops_every_query_variant(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge)
    client = app.test_client()
    for url in ("/page/a", "/page/a?q=1", "/page/a?q=2", "/page/b"):
        client.get(url)
    with app.app_context():
        assert bridge.invalidate("/page/a") == Success(3)
        assert bridge.invalidate("/page/a") == Success(0)
    for url in ("/page/a", "/page/a?q=1", "/page/b"):
        client.get(url)
    assert runs.count("a") == 5
    assert runs.count("b") == 1


def test_invalidate_all_leaves_other_keys(app: Flask, bridge: CacheBridge) -> None:
    counted_app(app, bridge)
    app.test_client().get("/page/a")
    with app.app_context():
        bridge.cache.set("not-a-view", "stays")
        assert bridge.invalidate_all() == Success(1)
        assert bridge.cache.get("not-a-view") == Success("stays")


def test_very_long_paths_are_cached_under_a_hash(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge)
    name = "x" * 2000
    client = app.test_client()
    client.get(f"/page/{name}")
    client.get(f"/page/{name}")
    assert len(runs) == 1
    with app.app_context():
        assert bridge.invalidate(f"/page/{name}") == Success(1)


def test_only_get_and_head_are_cached(app: Flask, bridge: CacheBridge) -> None:
    runs = itertools.count(1)

    @app.route("/form", methods=["GET", "POST"])
    @bridge.cached()
    def form() -> str:
        return f"{'posted' if request.method == 'POST' else 'read'} {next(runs)}"

    client = app.test_client()
    assert client.post("/form").text == "posted 1"
    assert client.post("/form").text == "posted 2"
    assert client.head("/form").status_code == 200  # runs the view and stores its answer
    assert client.get("/form").text == "read 3"
    assert client.post("/form").text == "posted 4"


UNCACHEABLE: dict[str, Callable[[], Response]] = {
    "a 404": lambda: Response("missing", status=404),
    "a redirect": lambda: Response("", status=302, headers={"Location": "/"}),
    "Set-Cookie": lambda: _with_cookie(Response("hi")),
    "Cache-Control private": lambda: Response("hi", headers={"Cache-Control": "private"}),
    "Cache-Control no-store": lambda: Response("hi", headers={"Cache-Control": "no-store"}),
    "Vary": lambda: Response("hi", headers={"Vary": "Accept-Language"}),
    "a stream": lambda: Response(iter([b"a", b"b"])),
    "a big body": lambda: Response("x" * 2048),
}


def _with_cookie(response: Response) -> Response:
    response.set_cookie("flavour", "oat")
    return response


@pytest.mark.parametrize("case", sorted(UNCACHEABLE))
def test_responses_that_must_not_be_shared_are_not_cached(
    make_app: MakeApp, bridge: CacheBridge, case: str
) -> None:
    app = make_app(CACHE_BRIDGE_MAX_RESPONSE_BYTES=1024)
    runs: list[int] = []

    @app.get("/")
    @bridge.cached()
    def view() -> Response:
        runs.append(1)
        return UNCACHEABLE[case]()

    client = app.test_client()
    first, second = client.get("/"), client.get("/")
    assert len(runs) == 2
    assert first.status_code == second.status_code
    with app.app_context():
        assert bridge.invalidate_all() == Success(0)


def test_other_statuses_can_be_allowed(app: Flask, bridge: CacheBridge) -> None:
    runs: list[int] = []

    @app.get("/gone")
    @bridge.cached(statuses=(200, 404))
    def gone() -> tuple[str, int]:
        runs.append(1)
        return "gone", 404

    client = app.test_client()
    assert client.get("/gone").status_code == 404
    assert client.get("/gone").status_code == 404
    assert runs == [1]


def test_a_view_that_reads_the_session_is_not_cached(app: Flask, bridge: CacheBridge) -> None:
    runs: list[int] = []

    @app.get("/me")
    @bridge.cached()
    def me() -> str:
        runs.append(1)
        return f"hello {session.get('user', 'stranger')}"

    client = app.test_client()
    client.get("/me")
    client.get("/me")
    assert len(runs) == 2


def test_authenticated_requests_bypass_the_cache(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge)
    client = app.test_client()
    client.get("/page/a", headers={"Authorization": "Bearer one"})
    client.get("/page/a", headers={"Authorization": "Bearer two"})
    assert len(runs) == 2


def test_view_caching_can_be_switched_off(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_VIEW_CACHE=False)
    runs = counted_app(app, bridge)
    client = app.test_client()
    client.get("/page/a")
    client.get("/page/a")
    assert len(runs) == 2


def test_a_corrupt_entry_is_a_miss_and_is_replaced(app: Flask, bridge: CacheBridge) -> None:
    runs = counted_app(app, bridge)
    with app.app_context():
        bridge.cache.set_json("view:/page/a", {"v": 1, "status": 200, "body": "???"})
    client = app.test_client()
    assert "run 1" in client.get("/page/a").text
    assert "run 1" in client.get("/page/a").text
    assert runs == ["a"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": 1.5}, "ttl"),
        ({"unless": True}, "unless"),
        ({"key": "static"}, "key"),
        ({"statuses": ()}, "statuses"),
        ({"statuses": (200, 999)}, "statuses"),
    ],
)
def test_bad_decorator_arguments_fail_at_decoration(
    bridge: CacheBridge, options: dict[str, object], message: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        bridge.cached(**options)  # type: ignore[arg-type]


def test_the_decorator_keeps_the_view_name(bridge: CacheBridge) -> None:
    def my_view() -> str:
        return ""

    assert bridge.cached()(my_view).__name__ == "my_view"
