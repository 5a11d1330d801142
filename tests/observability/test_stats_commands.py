"""``manage.py cache_stats`` (call_command) and ``flask cache stats`` (Flask's CLI runner):
they say that they run in their own process, and report each cache's state and breaker."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from flask import Flask
from pytest_django import Settings as SettingsWrapper

from flask_cache_bridge import CacheBridge
from tests.support.django_helpers import alias, dead_redis_url, fresh_memory


def test_manage_py_cache_stats(settings: SettingsWrapper, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("redis_client")
    settings.CACHES = {
        "default": alias(str(request.getfixturevalue("redis_url")), KEY_PREFIX="stats"),
        "local": alias(fresh_memory()),
        "down": alias(dead_redis_url(), OPTIONS={"connect_timeout": 0.2, "timeout": 0.2}),
    }
    out = io.StringIO()
    call_command("cache_stats", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Note: this command runs in its own process.")
    default, local, down = lines[1:]
    assert default.startswith("default: ")
    assert ": ready; circuit closed" in default
    assert local.startswith("local: ")
    assert local.endswith("ready; no circuit breaker")
    assert down.startswith("down: ")
    assert ": unavailable (" in down


def test_flask_cache_stats(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("redis_client")
    app = Flask("stats")
    app.config.update(CACHE_BRIDGE_URL=str(request.getfixturevalue("redis_url")))
    bridge = CacheBridge(app)
    result = app.test_cli_runner().invoke(args=["cache", "stats"])
    bridge.close(app)
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert first.startswith("Note: this command runs in its own process.")
    assert ": ready; circuit closed" in second
