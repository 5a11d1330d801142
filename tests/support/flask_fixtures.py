"""Fixtures for the Flask extension's tests: apps built with CacheBridge, closed afterwards.

A plain module, not a conftest.py (mypy would see two top-level ``conftest`` modules): each
test module imports the fixture functions, which pytest registers under their ``name``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, request

from flask_cache_bridge import CacheBridge
from flask_cache_bridge.views import path_key, request_variant

MakeApp = Callable[..., Flask]


@pytest.fixture(name="bridge")
def bridge_fixture() -> CacheBridge:
    return CacheBridge()


@pytest.fixture(name="make_app")
def make_app_fixture(bridge: CacheBridge) -> Iterator[MakeApp]:
    """Build apps initialised with ``bridge``; ``config`` keys go to ``app.config``.

    Every app gets its own named memory store unless ``CACHE_BRIDGE_URL`` is given, and every
    app is closed after the test.
    """
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = Flask(f"app_{len(apps)}")
        app.config["TESTING"] = True
        app.config["CACHE_BRIDGE_URL"] = f"memory://flask-test-{uuid.uuid4().hex}"
        app.config.update(config)
        bridge.init_app(app)
        apps.append(app)
        return app

    yield make
    for app in apps:
        bridge.close(app)


def stored_key(app: Flask, url: str, *, query_string: bool = True, **context: Any) -> str:
    """The key ``@bridge.cached`` stores the response to ``url`` under (without the app's
    prefix); ``context`` goes to ``app.test_request_context`` (``base_url=...``, ...)."""
    with app.test_request_context(url, **context):
        return path_key(request.path, request_variant(query_string))


#: ``init(**config)``: the warnings ``init_app`` logged for an app with that configuration.
InitLogged = Callable[..., list[str]]


@pytest.fixture(name="init_logged")
def init_logged_fixture(caplog: pytest.LogCaptureFixture) -> Iterator[InitLogged]:
    """``init_logged(**config)`` makes a memory:// app with ``config``, runs ``init_app`` and
    returns the warnings the extension logged (messages only); the apps close at the end."""
    bridge = CacheBridge()
    apps: list[Flask] = []

    def init(**config: Any) -> list[str]:
        app = Flask(f"init_logged_{len(apps)}")
        app.config.update(CACHE_BRIDGE_URL="memory://", **config)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="flask_cache_bridge"):
            bridge.init_app(app)
        apps.append(app)
        return [r.getMessage() for r in caplog.records if r.name == "flask_cache_bridge"]

    yield init
    for app in apps:
        bridge.close(app)
