"""Conditional answers on ``@bridge.cached`` views: ETag from the stored body, Age, 304 for a
matching If-None-Match (weak comparison, lists, ``*``) without running the view, HEAD, a
view's own ETag kept, and Redis down (the view answers 200)."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask, Response

from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from flask_cache_bridge.conditional import strong_etag
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401


@pytest.fixture
def app(make_app: MakeApp, location: str) -> Flask:
    return make_app(CACHE_BRIDGE_URL=location, CACHE_BRIDGE_KEY_PREFIX=f"c-{uuid.uuid4().hex[:8]}")


def pages(app: Flask, bridge: CacheBridge) -> list[str]:
    runs: list[str] = []

    @app.get("/page")
    @bridge.cached(60)
    def page() -> str:
        runs.append("page")
        return "the page"

    @app.get("/tagged")
    @bridge.cached(60)
    def tagged() -> Response:
        runs.append("tagged")
        response = Response("tagged page")
        response.set_etag("v7")
        return response

    return runs


def test_etag_age_and_304_without_running_the_view(app: Flask, bridge: CacheBridge) -> None:
    runs = pages(app, bridge)
    client = app.test_client()
    first = client.get("/page")
    etag = first.headers["ETag"]
    assert etag == f'"{strong_etag(b"the page")}"'
    assert "Age" not in first.headers  # a fresh answer
    for condition in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        answer = client.get("/page", headers={"If-None-Match": condition})
        assert answer.status_code == 304, condition
        assert answer.data == b""
        assert answer.headers["ETag"] == etag
        assert int(answer.headers["Age"]) >= 0
    assert client.head("/page", headers={"If-None-Match": etag}).status_code == 304
    other = client.get("/page", headers={"If-None-Match": '"other"'})
    assert (other.status_code, other.text, other.headers["ETag"]) == (200, "the page", etag)
    assert int(other.headers["Age"]) >= 0
    assert runs == ["page"]


def test_a_matching_first_request_gets_304_too(app: Flask, bridge: CacheBridge) -> None:
    runs = pages(app, bridge)
    etag = f'"{strong_etag(b"the page")}"'
    answer = app.test_client().get("/page", headers={"If-None-Match": etag})
    assert answer.status_code == 304
    assert runs == ["page"]  # the view ran once, and its answer is stored


def test_a_views_own_etag_is_kept(app: Flask, bridge: CacheBridge) -> None:
    runs = pages(app, bridge)
    client = app.test_client()
    assert client.get("/tagged").headers["ETag"] == '"v7"'
    assert client.get("/tagged", headers={"If-None-Match": '"v7"'}).status_code == 304
    assert client.get("/tagged", headers={"If-None-Match": '"v6"'}).text == "tagged page"
    assert runs == ["tagged"]


def test_redis_down_the_view_answers_200(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(
        CACHE_BRIDGE_URL=f"redis://127.0.0.1:{free_port()}/0",
        CACHE_BRIDGE_OPTIONS={"connect_timeout": 0.2, "timeout": 0.2},
    )
    runs = pages(app, bridge)
    client = app.test_client()
    for _ in range(2):
        answer = client.get("/page", headers={"If-None-Match": "*"})
        assert (answer.status_code, answer.text) == (200, "the page")
    assert runs == ["page", "page"]
