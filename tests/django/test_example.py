"""Smoke tests of example_projects/django_site: its demo, manage.py check and the commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.django_helpers import dead_redis_url

SITE = Path(__file__).resolve().parents[2] / "example_projects" / "django_site"


def run(*args: str, cache_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if cache_url:
        env["CACHE_URL"] = cache_url
    return subprocess.run(
        [sys.executable, *args],
        cwd=SITE,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_the_demo_runs_on_the_in_memory_default() -> None:
    done = run("demo.py")
    assert done.returncode == 0, done.stderr
    assert "cache: memory://django_site" in done.stdout
    assert "GET /visits/  -> 200 visits: 2" in done.stdout
    assert "GET /async/   -> 200 visits: 3" in done.stdout
    assert done.stdout.count("render number 1") == 2
    assert "default: PONG in " in done.stdout
    assert "GET /limited/ x6 -> [200, 200, 200, 200, 200, 429]" in done.stdout
    assert "Would remove 4 keys matching 'django_site:<VERSION>:*'" in done.stdout


def test_the_demo_runs_on_redis(redis_url: str, redis_client: object) -> None:
    done = run("demo.py", cache_url=redis_url)
    assert done.returncode == 0, done.stderr
    assert f"cache: {redis_url}" in done.stdout
    assert "GET /async/   -> 200 visits: 3" in done.stdout
    assert done.stdout.count("render number 1") == 2


def test_the_site_serves_pages_with_redis_down() -> None:
    script = (
        "from django.test import Client; c = Client(); "
        "[print(p, c.get(p).status_code, c.get(p).content.decode()) "
        "for p in ('/visits/', '/async/', '/cached/')]"
    )
    done = run("manage.py", "shell", "-c", script, cache_url=dead_redis_url())
    assert done.returncode == 0, done.stderr
    assert "/visits/ 200 visits: unknown (the cache is down: " in done.stdout
    assert "/async/ 200 visits: unknown (the cache is down" in done.stdout
    assert "/cached/ 200 render number" in done.stdout
    # cache_flush, by contrast, says loudly that it could not do its job.
    flush = run("demo.py", cache_url=dead_redis_url())
    assert flush.returncode != 0
    assert "could not count keys" in flush.stderr


def test_manage_py_check_and_cache_ping() -> None:
    done = run("manage.py", "check")
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
    done = run("manage.py", "cache_ping")
    assert done.returncode == 0, done.stderr
    dead = run("manage.py", "cache_ping", cache_url=dead_redis_url())
    assert dead.returncode == 1
    assert "default: FAILED" in dead.stderr
