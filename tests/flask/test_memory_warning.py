"""An app that would run on a per-process memory store without asking for one is told so,
once, at ``init_app``, with the ``CACHE_BRIDGE_*`` key to set; configuration set after
``init_app`` is reported at the first request instead of being silently ignored."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from flask_cache_bridge import CacheBridge

LOGGER = "flask_cache_bridge"


@pytest.fixture
def bridge() -> CacheBridge:
    return CacheBridge()


@pytest.fixture
def apps(bridge: CacheBridge) -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for app in made:
        bridge.close(app)


def _init(bridge: CacheBridge, apps: list[Flask], **config: Any) -> Flask:
    app = Flask(f"warned_{len(apps)}")
    app.config.update(config)
    bridge.init_app(app)
    apps.append(app)
    return app


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING
    ]


def test_no_cache_url_warns_once_and_names_the_key(
    bridge: CacheBridge, apps: list[Flask], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        app = _init(bridge, apps)
        client = app.test_client()

        @app.get("/")
        def home() -> str:
            return "ok"

        for _ in range(3):
            assert client.get("/").text == "ok"
    [message] = _warnings(caplog)
    assert "CACHE_BRIDGE_URL" in message
    assert "memory://" in message
    assert repr(app.name) in message


@pytest.mark.parametrize(
    ("foreign", "named"),
    [
        ({"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://h:6379/0"}, "CACHE_REDIS_URL"),
        ({"CACHE_TYPE": "RedisCache"}, "CACHE_TYPE"),
        ({"RATELIMIT_STORAGE_URI": "redis://h:6379/0"}, "RATELIMIT_STORAGE_URI"),
    ],
)
def test_another_extensions_keys_are_named_with_the_key_to_use_instead(
    bridge: CacheBridge,
    apps: list[Flask],
    caplog: pytest.LogCaptureFixture,
    foreign: dict[str, str],
    named: str,
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        _init(bridge, apps, **foreign)
    [message] = _warnings(caplog)
    assert named in message
    assert "CACHE_BRIDGE_URL" in message
    assert "redis://h" not in message  # a URL may hold a password: names only


def test_an_explicit_memory_url_is_not_warned_about(
    bridge: CacheBridge, apps: list[Flask], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        _init(bridge, apps, CACHE_BRIDGE_URL="memory://")
        _init(bridge, apps, CACHE_BRIDGE_URL="memory://shared", CACHE_TYPE="SimpleCache")
    assert _warnings(caplog) == []


def test_config_set_after_init_app_is_reported_at_the_first_request(
    bridge: CacheBridge, apps: list[Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = _init(bridge, apps, CACHE_BRIDGE_URL="memory://")
    app.config["CACHE_BRIDGE_URL"] = "redis://:secret@127.0.0.1:6379/0"
    app.config["CACHE_BRIDGE_KEY_PREFIX"] = "late"

    @app.get("/")
    def home() -> str:
        return bridge.description

    client = app.test_client()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        answers = [client.get("/").text for _ in range(3)]
    # The app keeps the store it was initialised with; it is told, not silently switched.
    assert len(set(answers)) == 1, answers
    assert answers[0].startswith("memory://")
    [message] = _warnings(caplog)
    assert "CACHE_BRIDGE_KEY_PREFIX" in message
    assert "CACHE_BRIDGE_URL" in message
    assert "init_app" in message
    assert "secret" not in message
