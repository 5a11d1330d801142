"""``@bridge.cached`` on the in-memory store: what is cached, what is not, keys, invalidation.

Each view counts its runs, so "served from the cache" means "the view did not run".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from flask import Flask, Response, request, session, url_for
from returns.result import Success

from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture, stored_key  # noqa: F401


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
        assert bridge.cache.ttl(stored_key(app, path)) == Success(60)


def test_the_default_ttl_comes_from_the_config(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_DEFAULT_TTL=42)
    counted_app(app, bridge)
    app.test_client().get("/page/a")
    with app.app_context():
        assert bridge.cache.ttl(stored_key(app, "/page/a")) == Success(42)


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


def test_only_get_is_stored_and_head_is_answered_from_it(app: Flask, bridge: CacheBridge) -> None:
    runs = itertools.count(1)

    @app.route("/form", methods=["GET", "POST"])
    @bridge.cached()
    def form() -> str:
        if request.method == "HEAD":
            return ""  # a view may skip the body for HEAD: that answer must not be stored
        return f"{'posted' if request.method == 'POST' else 'read'} {next(runs)}"

    client = app.test_client()
    assert client.post("/form").text == "posted 1"
    assert client.post("/form").text == "posted 2"
    assert client.head("/form").status_code == 200  # runs the view, stores nothing
    with app.app_context():
        assert bridge.invalidate_all() == Success(0)
    assert client.get("/form").text == "read 3"
    head = client.head("/form")  # from the GET entry: its headers, no body
    assert (head.status_code, head.data, head.headers["Content-Length"]) == (200, b"", "6")
    assert client.get("/form").text == "read 3"
    assert client.post("/form").text == "posted 4"


def test_the_host_scheme_and_script_root_are_part_of_the_key(
    app: Flask, bridge: CacheBridge
) -> None:
    runs: list[str] = []

    @app.get("/links")
    @bridge.cached()
    def links() -> dict[str, str]:
        runs.append(request.host)
        return {"next": url_for("links", _external=True)}

    client = app.test_client()
    assert client.get("/links", base_url="http://evil.example").json == {
        "next": "http://evil.example/links"
    }
    assert client.get("/links", base_url="http://shop.example").json == {
        "next": "http://shop.example/links"
    }
    assert client.get("/links", base_url="https://shop.example").json == {
        "next": "https://shop.example/links"
    }
    assert client.get("/links", base_url="http://shop.example/eu").json == {
        "next": "http://shop.example/eu/links"
    }
    assert client.get("/links", base_url="http://shop.example:8080").json == {
        "next": "http://shop.example:8080/links"
    }
    assert client.get("/links", base_url="http://shop.example").json == {
        "next": "http://shop.example/links"
    }
    assert len(runs) == 5
    with app.app_context():
        assert bridge.invalidate("/links") == Success(5)  # every variant of the path


def test_tenants_on_subdomains_get_their_own_entries(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    app = make_app(SERVER_NAME="shop.test")
    app.subdomain_matching = True

    @app.get("/", subdomain="<tenant>")
    @bridge.cached()
    def home(tenant: str) -> str:
        return f"tenant {tenant}"

    client = app.test_client()
    assert client.get("/", base_url="http://acme.shop.test").text == "tenant acme"
    assert client.get("/", base_url="http://globex.shop.test").text == "tenant globex"
    assert client.get("/", base_url="http://acme.shop.test").text == "tenant acme"


def test_repeated_query_arguments_keep_their_order(app: Flask, bridge: CacheBridge) -> None:
    @app.get("/search")
    @bridge.cached()
    def search() -> dict[str, object]:
        return {"page": request.args.get("page"), "all": request.args.getlist("page")}

    client = app.test_client()
    assert client.get("/search?page=1&page=9").json == {"page": "1", "all": ["1", "9"]}
    assert client.get("/search?page=9&page=1").json == {"page": "9", "all": ["9", "1"]}
    # Different names still share an entry in any order.
    assert client.get("/search?page=9&page=1&q=x").json == {"page": "9", "all": ["9", "1"]}
    with app.app_context():
        bridge.cache.set_json(stored_key(app, "/search?q=x&page=9&page=1"), {}, ttl=60)
    assert client.get("/search?q=x&page=9&page=1").status_code == 200
    assert client.get("/search?page=9&q=x&page=1").status_code == 200


def test_an_encoded_question_mark_in_the_path_is_not_a_query_string(
    app: Flask, bridge: CacheBridge
) -> None:
    @app.get("/docs/<path:page>")
    @bridge.cached()
    def docs(page: str) -> str:
        return f"page={page!r} lang={request.args.get('lang')}"

    client = app.test_client()
    variant = stored_key(app, "/docs/intro?lang=en").rsplit(":", 1)[1]
    assert client.get(f"/docs/intro%3A{variant}").text == f"page='intro:{variant}' lang=None"
    assert client.get("/docs/intro%3Flang=en").text == "page='intro?lang=en' lang=None"
    assert client.get("/docs/intro?lang=en").text == "page='intro' lang=en"
    assert client.get("/docs/intro%2A").text == "page='intro*' lang=None"
    with app.app_context():
        assert bridge.invalidate("/docs/intro") == Success(1)
        assert bridge.invalidate("/docs/intro*") == Success(1)  # no glob: only that path


def test_invalidate_takes_what_url_for_returns_under_a_script_root(
    app: Flask, bridge: CacheBridge
) -> None:
    runs = itertools.count(1)

    @app.get("/r/<name>")
    @bridge.cached()
    def r(name: str) -> str:
        return f"run {next(runs)}"

    @app.post("/refresh/<name>")
    def refresh(name: str) -> dict[str, object]:
        url = url_for("r", name=name, page=2)
        return {"deleted": bridge.invalidate(url).unwrap(), "url": url}

    client = app.test_client()
    mounted = {"SCRIPT_NAME": "/shop"}
    assert client.get("/r/a b", environ_overrides=mounted).text == "run 1"
    assert client.get("/r/a b?page=2", environ_overrides=mounted).text == "run 2"
    assert client.get("/r/a b", environ_overrides=mounted).text == "run 1"
    assert client.post("/refresh/a b", environ_overrides=mounted).json == {
        "deleted": 2,
        "url": "/shop/r/a%20b?page=2",
    }
    assert client.get("/r/a b", environ_overrides=mounted).text == "run 3"
    with app.app_context():  # outside a request: APPLICATION_ROOT is the script root
        app.config["APPLICATION_ROOT"] = "/shop"
        assert bridge.invalidate("/shop/r/a%20b") == Success(1)
        assert bridge.invalidate("/r/a b") == Success(0)


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
        bridge.cache.set_json(stored_key(app, "/page/a"), {"v": 1, "status": 200, "body": "???"})
    client = app.test_client()
    assert "run 1" in client.get("/page/a").text
    assert "run 1" in client.get("/page/a").text
    assert runs == ["a"]


@pytest.mark.parametrize(
    "entry",
    [
        {"v": 1, "status": 42, "headers": [], "body": ""},
        {"v": 1, "status": 99999, "headers": [], "body": ""},
        {"v": 1, "status": 500, "headers": [], "body": ""},  # not in statuses
        {"v": 1, "status": True, "headers": [], "body": ""},
        {"v": 1, "status": 200, "headers": [["X-A", "a\nb"]], "body": ""},
        {"v": 1, "status": 200, "headers": [["X-A", "a\rb"]], "body": ""},
        {"v": 1, "status": 200, "headers": [["X A:", "a"]], "body": ""},
        {"v": 1, "status": 200, "headers": [["", "a"]], "body": ""},
        {"v": 1, "status": 200, "headers": [["X-A", 7]], "body": ""},
        {"v": 1, "status": 200, "headers": [["X-A", "a", "b"]], "body": ""},
        {"v": 1, "status": 200, "headers": [], "body": "not base64!"},
        {"v": 2, "status": 200, "headers": [], "body": ""},
    ],
)
def test_a_foreign_entry_is_a_miss_never_an_error(
    make_app: MakeApp, bridge: CacheBridge, entry: dict[str, object]
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=True)

    @app.get("/p")
    @bridge.cached()
    def p() -> str:
        return "fresh"

    with app.app_context():
        bridge.cache.set_json(stored_key(app, "/p"), entry, ttl=60)
    answer = app.test_client().get("/p")
    assert (answer.status_code, answer.text) == (200, "fresh")


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
