"""The example sites as a person meets them: ``make serve-django`` / ``make serve-flask``
answer over HTTP, and their pages (driven here through Django's and Flask's test clients)
show cache hits, a rate limit reaching 429, and what the site does while Redis is stopped."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from flask import Flask
from pytest_django import Settings as SettingsWrapper

from cache_bridge.testing import RedisServer
from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_projects"
for folder in (EXAMPLES, EXAMPLES / "django_site"):
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

#: Generous: polls stop as soon as the page says what is awaited.
WAIT = 30.0


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"{what} within {WAIT}s"
        time.sleep(0.1)


# -- make serve-django / make serve-flask over HTTP ----------------------------------------------


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def serve() -> Iterator[Callable[[str, dict[str, str]], str]]:
    """Run ``make TARGET`` with this interpreter's venv (never installing anything) on a free
    port; the base URL once ``/`` answers. Every server is stopped afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def run(target: str, env: dict[str, str]) -> str:
        port = free_port()
        process = subprocess.Popen(
            [
                "make", "--no-print-directory", "-o", ".venv/.installed", target,
                f"BIN={Path(sys.executable).parent}", f"PORT={port}",
            ],
            cwd=ROOT,
            # Not pytest-django's DJANGO_SETTINGS_MODULE: the site names its own.
            env={**{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        started.append(process)
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert process.poll() is None, f"make {target} exited with {process.returncode}"
            try:
                return _get(base + "/")[0] == 200
            except OSError:
                return False

        _until(answers, f"make {target} did not answer")
        return base

    yield run
    for process in started:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_make_serve_django_serves_the_site(
    serve: Callable[[str, dict[str, str]], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CACHE_URL", raising=False)
    base = serve("serve-django", {})
    status, guide = _get(base + "/")
    assert status == 200
    assert "memory://django_site" in guide
    assert "The cache answers" in guide
    first, second = _get(base + "/cached/")[1], _get(base + "/cached/")[1]
    assert first == second  # the second came from the cache
    statuses = [_get(base + "/limited/")[0] for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]


def test_make_serve_flask_serves_the_app(
    serve: Callable[[str, dict[str, str]], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CACHE_URL", raising=False)
    base = serve("serve-flask", {})
    status, index = _get(base + "/")
    assert status == 200
    assert '"up":true' in index.replace(" ", "")
    assert '"source":"database"' in _get(base + "/users/1")[1].replace(" ", "")
    assert '"source":"cache"' in _get(base + "/users/1")[1].replace(" ", "")
    statuses = [_get(base + "/limited")[0] for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]


@pytest.mark.redis
def test_make_serve_django_uses_redis_with_cache_url(
    serve: Callable[[str, dict[str, str]], str], redis_url: str, redis_client: Any
) -> None:
    base = serve("serve-django", {"CACHE_URL": redis_url})
    assert redis_url in _get(base + "/")[1]
    assert _get(base + "/visits/")[1] == "visits: 1"
    assert redis_client.get("django_site:1:visits") == b"1"


# -- the Django site through Django's test client -------------------------------------------------


@pytest.fixture
def django_site(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Client]:
    """The example site's own settings and URLs, with CACHE_URL set to ``url``."""

    def load(url: str) -> Client:
        monkeypatch.setenv("CACHE_URL", url)
        site_settings = importlib.reload(importlib.import_module("django_site.settings"))
        settings.CACHES = site_settings.CACHES
        settings.ROOT_URLCONF = "django_site.urls"
        return Client()

    return load


def test_the_django_guide_links_every_page(django_site: Callable[[str], Client]) -> None:
    page = django_site(f"memory://site-{uuid.uuid4().hex}").get("/").content.decode()
    assert "The cache answers" in page
    for path in ("/visits/", "/async/", "/cached/", "/limited/"):
        assert f'href="{path}"' in page


def test_the_django_pages_show_hits_and_the_limit(django_site: Callable[[str], Client]) -> None:
    client = django_site(f"memory://site-{uuid.uuid4().hex}")
    assert [client.get("/visits/").content for _ in range(2)] == [b"visits: 1", b"visits: 2"]
    first = client.get("/cached/").content
    assert client.get("/cached/").content == first
    responses = [client.get("/limited/") for _ in range(6)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 429]
    assert int(responses[-1].headers["Retry-After"]) > 0


def _render_number(response: Any) -> int:
    found = re.match(rb"render number (\d+)", response.content)
    assert found, response.content
    return int(found.group(1))


@pytest.mark.redis
def test_the_django_site_with_redis_stopped(django_site: Callable[[str], Client]) -> None:
    with RedisServer() as server:
        client = django_site(server.url)
        assert client.get("/visits/").content == b"visits: 1"
        server.stop()
        guide = client.get("/").content.decode()
        assert "The cache is down" in guide
        assert client.get("/visits/").content.startswith(b"visits: unknown (the cache is down")
        renders = [_render_number(client.get("/cached/")) for _ in range(2)]
        assert renders[1] == renders[0] + 1  # no cache: rendered every time
        assert [client.get("/limited/").status_code for _ in range(7)] == [200] * 7  # fails open
        server.start()
        _until(lambda: "The cache answers" in client.get("/").content.decode(), "no recovery")
        assert client.get("/visits/").content == b"visits: 1"  # an empty server, started anew


# -- the Flask app through Flask's test client -----------------------------------------------------


@pytest.fixture
def flask_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Flask]]:
    made: list[Flask] = []

    def load(url: str) -> Flask:
        monkeypatch.setenv("CACHE_URL", url)
        from flask_app import create_app

        app = create_app()
        made.append(app)
        return app

    yield load
    for app in made:
        CacheBridge().close(app)


def test_the_flask_pages_show_hits_and_the_limit(flask_app: Callable[[str], Flask]) -> None:
    client = flask_app(f"memory://app-{uuid.uuid4().hex}").test_client()
    assert client.get("/").json["health"] == {"up": True}  # type: ignore[index]
    assert [client.get("/users/1").json["source"] for _ in range(2)] == [  # type: ignore[index]
        "database",
        "cache",
    ]
    responses = [client.get("/limited") for _ in range(6)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 429]
    assert int(responses[-1].headers["Retry-After"]) > 0


@pytest.mark.redis
def test_the_flask_app_with_redis_stopped(flask_app: Callable[[str], Flask]) -> None:
    with RedisServer() as server:
        client = flask_app(server.url).test_client()
        client.get("/users/1")
        assert client.get("/users/1").json == {
            "user": {"id": 1, "name": "Ada"},
            "source": "cache",
        }
        server.stop()
        health = client.get("/").json["health"]  # type: ignore[index]
        assert health["up"] is False
        assert "could not be reached" in health["error"]
        assert client.get("/users/1").json["source"] == "database"  # type: ignore[index]
        computed = [client.get("/report").json["computed"] for _ in range(2)]  # type: ignore[index]
        assert computed[1] == computed[0] + 1
        assert [client.get("/limited").status_code for _ in range(7)] == [200] * 7
        server.start()
        _until(lambda: client.get("/").json["health"]["up"], "no recovery")  # type: ignore[index]
        client.get("/users/1")
        assert client.get("/users/1").json["source"] == "cache"  # type: ignore[index]
