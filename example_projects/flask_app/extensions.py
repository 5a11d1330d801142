"""The extension objects, created once and bound to each app in ``create_app``."""

from __future__ import annotations

from flask_cache_bridge import CacheBridge

bridge = CacheBridge()
