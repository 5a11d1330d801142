"""The example Flask app (example_projects/flask_app) works, on memory:// and on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.cli import ScriptInfo

from flask_cache_bridge import CacheBridge

EXAMPLE = Path(__file__).resolve().parents[2] / "example_projects" / "flask_app"


def _load(monkeypatch: pytest.MonkeyPatch, cache_url: str | None) -> Flask:
    if cache_url is None:
        monkeypatch.delenv("CACHE_URL", raising=False)
    else:
        monkeypatch.setenv("CACHE_URL", cache_url)
    # The way `flask --app example_projects/flask_app` finds the app factory.
    return ScriptInfo(app_import_path=str(EXAMPLE)).load_app()


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    app = _load(monkeypatch, None)
    yield app
    CacheBridge().close(app)


def test_the_example_serves_users_from_the_cache_after_the_first_read(example: Flask) -> None:
    client = example.test_client()
    assert client.get("/users/1").json == {"user": {"id": 1, "name": "Ada"}, "source": "database"}
    assert client.get("/users/1").json == {"user": {"id": 1, "name": "Ada"}, "source": "cache"}
    assert client.get("/users/9").status_code == 404


def test_the_example_report_is_cached_until_refreshed(example: Flask) -> None:
    client = example.test_client()
    first = client.get("/report").json
    assert first is not None
    assert client.get("/report").json == first
    client.get("/report?detail=1")
    assert client.post("/report/refresh").json == {"invalidated": 2}
    again = client.get("/report").json
    assert again is not None
    assert again["computed"] == first["computed"] + 2


def test_the_example_async_view_counts(example: Flask) -> None:
    client = example.test_client()
    assert [client.get("/async/visits").json for _ in range(3)] == [
        {"visits": 1},
        {"visits": 2},
        {"visits": 3},
    ]
    assert client.get("/").json == {
        "cache": "memory:// prefix='flask_demo'",
        "health": {"up": True},
        "try": ["/users/1", "/report", "/limited", "/async/visits"],
    }


@pytest.mark.redis
def test_the_example_uses_redis_when_cache_url_is_set(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_client: object
) -> None:
    app = _load(monkeypatch, redis_url)
    try:
        client = app.test_client()
        client.get("/users/2")
        assert client.get("/users/2").json == {
            "user": {"id": 2, "name": "Grace"},
            "source": "cache",
        }
        assert client.get("/async/visits").json == {"visits": 1}
    finally:
        CacheBridge().close(app)


def _flask(*args: str, cache_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    if cache_url is not None:
        env["CACHE_URL"] = cache_url
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_the_example_cli_pings_the_default_cache() -> None:
    done = _flask("cache", "ping")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("PONG from memory:// prefix='flask_demo' in ")


@pytest.mark.redis
def test_the_example_cli_on_redis(redis_url: str, redis_client: object) -> None:
    done = _flask("cache", "ping", cache_url=redis_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"PONG from {redis_url} prefix='flask_demo' in ")
    flushed = _flask("cache", "flush", "--dry-run", cache_url=redis_url)
    assert flushed.returncode == 0, flushed.stderr
    assert flushed.stdout.startswith("Dry run: 0 keys would be deleted")
