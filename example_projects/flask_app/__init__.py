"""A small Flask app on cache_bridge: the app factory.

Serve it with ``make serve-flask`` from the repository root (the in-memory cache by default;
``CACHE_URL=redis://127.0.0.1:6379/0 make serve-flask`` uses Redis and only touches keys
under ``flask_demo:``). The commands behind it, with the venv that ``make`` creates::

    .venv/bin/flask --app example_projects/flask_app run
    .venv/bin/flask --app example_projects/flask_app cache ping
    .venv/bin/flask --app example_projects/flask_app cache flush --dry-run
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from .extensions import bridge
from .views import blueprint

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The app, with the cache configured from the environment (``CACHE_URL``)."""
    app = Flask(__name__)
    app.config.from_mapping(
        CACHE_BRIDGE_URL=os.environ.get("CACHE_URL", "memory://"),
        CACHE_BRIDGE_KEY_PREFIX="flask_demo",
        CACHE_BRIDGE_DEFAULT_TTL=60,
        # The same options for memory:// and Redis: they have no effect on memory://.
        CACHE_BRIDGE_OPTIONS={"timeout": 0.5, "connect_timeout": 0.5, "max_connections": 20},
    )
    if test_config:
        app.config.update(test_config)
    bridge.init_app(app)
    app.register_blueprint(blueprint)
    return app
