"""``{% cache ttl, "name", *vary %}`` in rendered templates (memory:// and Redis): hit, miss,
vary, invalidate one and all, ttl 0, a missing name, Redis down, inside a cached view."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask, render_template_string
from jinja2 import TemplateSyntaxError
from returns.result import Success

from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401

PAGE = (
    "<p>{% cache 60, 'sidebar', user %}[{{ expensive(user) }}]{% endcache %}</p>"
    "{% cache 0, 'never' %}{{ expensive('uncached') }}{% endcache %}"
)


@pytest.fixture
def app(make_app: MakeApp, location: str) -> Flask:
    return make_app(
        CACHE_BRIDGE_URL=location,
        CACHE_BRIDGE_KEY_PREFIX=f"frag-{uuid.uuid4().hex[:8]}",
        SECRET_KEY="test-secret",
    )


def counter() -> tuple[Callable[[str], str], list[str]]:
    calls: list[str] = []

    def expensive(user: str) -> str:
        calls.append(user)
        return f"sidebar of {user}"

    return expensive, calls


def test_fragments_hit_vary_and_invalidate(app: Flask, bridge: CacheBridge) -> None:
    expensive, calls = counter()

    def render(user: str) -> str:
        return render_template_string(PAGE, user=user, expensive=expensive)

    with app.test_request_context():
        assert render("ada") == "<p>[sidebar of ada]</p>sidebar of uncached"
        assert render("ada") == "<p>[sidebar of ada]</p>sidebar of uncached"
        assert render("bob") == "<p>[sidebar of bob]</p>sidebar of uncached"
        assert calls == ["ada", "uncached", "uncached", "bob", "uncached"]
        calls.clear()
        assert bridge.invalidate_fragment("sidebar", "ada") == Success(1)
        render("ada"), render("bob")
        assert [c for c in calls if c != "uncached"] == ["ada"]
        calls.clear()
        bridge.cache.set("foreign", "kept")
        assert bridge.invalidate_fragment("sidebar") == Success(2)
        render("ada"), render("bob")
        assert [c for c in calls if c != "uncached"] == ["ada", "bob"]
        assert bridge.cache.get("foreign") == Success("kept")


def test_a_fragment_without_a_name_is_a_syntax_error(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(TemplateSyntaxError, match="needs a name"):
        render_template_string("{% cache 60 %}x{% endcache %}")


def test_vary_values_are_not_joined(app: Flask) -> None:
    expensive, calls = counter()
    page = "{% cache 60, 'f', a, b %}{{ expensive(a ~ '/' ~ b) }}{% endcache %}"
    with app.test_request_context():
        render_template_string(page, a="x_y", b="", expensive=expensive)
        render_template_string(page, a="x", b="y", expensive=expensive)
    assert calls == ["x_y/", "x/y"]


def test_redis_down_every_page_renders(make_app: MakeApp) -> None:
    app = make_app(
        CACHE_BRIDGE_URL=f"redis://127.0.0.1:{free_port()}/0",
        CACHE_BRIDGE_OPTIONS={"connect_timeout": 0.2, "timeout": 0.2},
        SECRET_KEY="s",
    )
    expensive, calls = counter()

    @app.get("/")
    def page() -> str:
        return render_template_string(PAGE, user="ada", expensive=expensive)

    client = app.test_client()
    assert client.get("/").text == "<p>[sidebar of ada]</p>sidebar of uncached"
    assert client.get("/").text == "<p>[sidebar of ada]</p>sidebar of uncached"
    assert calls.count("ada") == 2


def test_a_fragment_inside_a_cached_view(app: Flask, bridge: CacheBridge) -> None:
    expensive, calls = counter()

    @app.get("/home")
    @bridge.cached(60)
    def home() -> str:
        return render_template_string(PAGE, user="ada", expensive=expensive)

    client = app.test_client()
    assert client.get("/home").text == client.get("/home").text
    with app.app_context():
        bridge.invalidate_all()
    client.get("/home")  # the view runs again, and its fragment comes from the cache
    assert calls == ["ada", "uncached", "uncached"]
