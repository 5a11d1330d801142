"""Flask integration for cache_bridge: the ``CacheBridge`` extension.

::

    from flask_cache_bridge import CacheBridge

    bridge = CacheBridge(app)  # or CacheBridge(); bridge.init_app(app)
    bridge.cache.set("greeting", "hello", ttl=60)  # a Result, never an exception

Configuration keys, the ``@bridge.cached`` decorator and the ``flask cache`` commands are
described in docs/flask.md.
"""

from __future__ import annotations

from flask_cache_bridge.extension import CacheBridge
from flask_cache_bridge.settings import DEFAULTS, BridgeSettings

__all__ = ["DEFAULTS", "BridgeSettings", "CacheBridge"]
