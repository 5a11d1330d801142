"""The README's quick start, run as written: each Python block is taken from README.md (the
docs site includes the same blocks), its ``127.0.0.1:6379`` is pointed at the test-started
server, and it runs. The Django blocks run as the settings of the test project, the Flask
blocks as apps driven by Flask's test client. The README's first command, ``make run``,
runs too."""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from django.core import checks
from django.test import Client
from flask import Flask
from pytest_django import Settings as SettingsWrapper
from returns.result import Success

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: The server address the README's examples name; the tests never touch it.
README_URL = "redis://127.0.0.1:6379/0"
T = TypeVar("T")


def _section(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next heading of the same or a higher level
    (``#`` lines inside code blocks are comments, not headings)."""
    level = len(heading.split(" ", 1)[0])
    lines = text.splitlines()
    start = lines.index(heading)
    fenced = False
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (found := re.match(r"(#+) ", line)) and len(found[1]) <= level:
            return "\n".join(lines[start:number]) + "\n"
    return "\n".join(lines[start:]) + "\n"


def python_blocks(heading: str) -> list[str]:
    """The ```` ```python ```` blocks of a README quick-start section, in order."""
    quick_start = _section(README.read_text(encoding="utf-8"), "## Quick start")
    return re.findall(r"```python\n(.*?)```", _section(quick_start, heading), re.DOTALL)


def run_block(code: str, url: str, name: str) -> tuple[dict[str, Any], str]:
    """Run one block with the README's server address replaced by ``url``: its globals and
    what it printed."""
    assert README_URL in code or "redis://" not in code, "a block names another server"
    namespace: dict[str, Any] = {"__name__": name}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.replace(README_URL, url), f"README.md ({name})", "exec"), namespace)
    return namespace, out.getvalue()


def without_ellipsis(values: list[Any]) -> list[Any]:
    """A settings list as the README writes it (``[..., "x"]``: your entries, then ours)."""
    assert values[0] is Ellipsis
    return values[1:]


def in_one_window(requests: Callable[[], list[T]], period: int = 60) -> list[T]:
    """The responses to ``requests``, all made within one clock-aligned window of a
    fixed-window limit (made again, on fresh counters, if a window boundary fell in between)."""
    for _ in range(3):
        window = int(time.time() // period)
        responses = requests()
        if int(time.time() // period) == window:
            return responses
    raise AssertionError("three window boundaries in a row: the clock is not moving normally")


def test_the_quick_start_has_the_blocks_these_tests_run() -> None:
    assert [len(python_blocks(h)) for h in ("### The core", "### Django", "### Flask")] == [1, 2, 1]
    assert len(python_blocks("### Rate limiting")) == 2


def test_the_core_example_prints_a_hit_and_the_async_count(
    redis_url: str, redis_client: redis.Redis
) -> None:
    (code,) = python_blocks("### The core")
    _, printed = run_block(code, redis_url, "readme_core")
    assert printed.splitlines() == ["hit hello", "Ada 100"]  # what the README says it prints
    assert redis_client.get("shop:greeting") == b"hello"


def test_the_core_example_carries_on_when_redis_is_down() -> None:
    (code,) = python_blocks("### The core")
    with socket.socket() as holder:  # bound, never listening: connections are refused
        holder.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{holder.getsockname()[1]}/0"
        _, printed = run_block(code, dead, "readme_core_down")
    first, second = printed.splitlines()
    assert first.startswith("Redis is down, carrying on without it: get('greeting')")
    assert second == "Ada 100"  # the async part runs on memory://


@pytest.fixture
def readme_caches(
    settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis
) -> dict[str, Any]:
    """The README's Django settings block, applied to the test project on the test server."""
    settings_block, _ = python_blocks("### Django")
    names, _ = run_block(settings_block, redis_url, "readme_settings")
    assert without_ellipsis(names["INSTALLED_APPS"]) == ["django_cache_bridge"]
    assert "django_cache_bridge" in settings.INSTALLED_APPS
    settings.CACHES = names["CACHES"]
    caches: dict[str, Any] = names["CACHES"]
    return caches


def _bridge_messages() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks() if (m.id or "").startswith("django_cache_bridge.")]


def test_the_django_example_passes_the_checks_and_runs(
    readme_caches: dict[str, Any], redis_url: str, redis_client: redis.Redis
) -> None:
    assert _bridge_messages() == []
    _, usage = python_blocks("### Django")
    names, _ = run_block(usage, redis_url, "readme_django")
    assert names["visits"] == Success(1)
    assert names["cache"].get("greeting") == "hello"
    assert redis_client.get("site:1:visits") == b"1"
    assert redis_client.exists("site:1:greeting") == 1


def test_the_flask_example_serves_and_caches(redis_url: str, redis_client: redis.Redis) -> None:
    (code,) = python_blocks("### Flask")
    names, _ = run_block(code, redis_url, "readme_flask")
    app: Flask = names["app"]
    try:
        with app.test_client() as client:
            assert client.get("/greeting").json == {"greeting": "hello"}
            assert client.get("/report").json == {"total": 42}
            assert client.get("/report").json == {"total": 42}
        assert redis_client.get("shop:greeting") == b"hello"
        assert len(redis_client.keys("shop:view:/report:*")) == 1
    finally:
        names["bridge"].close(app)


@pytest.fixture
def readme_ratelimit_urls(settings: SettingsWrapper, redis_url: str) -> Iterator[Any]:
    """The README's Django rate-limit block as the test project's settings, and a URLconf
    with its ``search`` view and a view under the rule's ``/api/``."""
    django_block, _ = python_blocks("### Rate limiting")
    names, _ = run_block(django_block, redis_url, "readme_ratelimit_django")
    settings.MIDDLEWARE = without_ellipsis(names["MIDDLEWARE"])
    settings.CACHE_BRIDGE_RATELIMIT = names["CACHE_BRIDGE_RATELIMIT"]
    from django.http import HttpResponse
    from django.urls import path

    urls = types.ModuleType(f"readme_urls_{uuid.uuid4().hex}")
    patterns = [
        path("api/items", lambda request: HttpResponse("items")),
        path("search", names["search"]),
    ]
    setattr(urls, "urlpatterns", patterns)  # noqa: B010 (a module made here)
    sys.modules[urls.__name__] = urls
    settings.ROOT_URLCONF = urls.__name__
    yield names
    del sys.modules[urls.__name__]


def test_the_django_rate_limit_example_limits(
    readme_caches: dict[str, Any], readme_ratelimit_urls: Any, redis_client: redis.Redis
) -> None:
    client = Client()
    api = client.get("/api/items")
    assert api.status_code == 200
    assert api.headers["RateLimit-Policy"] == '"api";q=100;w=60'
    assert api.headers["RateLimit"].startswith('"api";r=99;')

    def eleven_searches() -> list[int]:
        redis_client.flushdb()
        return [client.get("/search").status_code for _ in range(11)]

    statuses = in_one_window(eleven_searches)
    assert statuses == [200] * 10 + [429]
    assert _bridge_messages() == []


def test_the_flask_rate_limit_example_limits(redis_url: str, redis_client: redis.Redis) -> None:
    _, flask_block = python_blocks("### Rate limiting")
    names, _ = run_block(flask_block, redis_url, "readme_ratelimit_flask")
    app: Flask = names["app"]
    try:
        with app.test_client() as client:

            def eleven_searches() -> list[Any]:
                redis_client.flushdb()
                return [client.get("/search") for _ in range(11)]

            responses = in_one_window(eleven_searches)
        assert [r.status_code for r in responses] == [200] * 10 + [429]
        refused = responses[-1]
        assert int(refused.headers["Retry-After"]) >= 1
        # The default limit (200/m, every route) and the route's own, decided together.
        assert refused.headers["RateLimit-Policy"] == '"default0";q=200;w=60, "search";q=10;w=60'
    finally:
        names["bridge"].close(app)


def test_make_run_runs_the_three_tours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's first command. Its install step is the one ``make test`` (and every other
    target) runs first, so it is not repeated here (``-o`` and ``BIN=``: nothing installed)."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("<!-- --8<-- [start:commands] -->") :]
    commands = [
        line.split("#", 1)[0].strip() for line in block.splitlines() if line.startswith("make ")
    ]
    assert commands[:2] == ["make run", "make test"]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "CACHE_URL", "MAKEFLAGS", "MAKELEVEL")
    }
    done = subprocess.run(
        [
            "make", "--no-print-directory", "-o", ".venv/.installed", "run",
            f"BIN={Path(sys.executable).parent}",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tours = [line for line in done.stdout.splitlines() if line.startswith("== ")]
    assert [line.split(":", 1)[0] for line in tours[:3]] == [
        "== 1/3 the core protocol",
        "== 2/3 the Django site, through Django's test client",
        "== 3/3 the Flask app, through Flask's test client",
    ]
    assert tours[-1].startswith("== done")


def test_the_readme_stays_short() -> None:
    """What a user needs first; the rest is on the docs site."""
    assert len(README.read_text(encoding="utf-8").splitlines()) < 250
