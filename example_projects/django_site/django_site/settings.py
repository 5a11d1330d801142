"""Settings of the example site: memory:// by default, Redis when CACHE_URL is set."""

from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-site-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "django_site.urls"
WSGI_APPLICATION = "django_site.wsgi.application"
INSTALLED_APPS = ["django_cache_bridge"]
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

CACHES = {
    "default": {
        "BACKEND": "django_cache_bridge.cache.BridgeCache",
        "LOCATION": os.environ.get("CACHE_URL", "memory://django_site"),
        "KEY_PREFIX": "django_site",
        "TIMEOUT": 300,
        "OPTIONS": {"timeout": 0.5, "connect_timeout": 0.5}
        if os.environ.get("CACHE_URL", "").startswith(("redis", "unix"))
        else {},
    }
}
# The demo runs as one process (runserver) on memory:// unless CACHE_URL is set: its rate limit
# counting there is right, so the warning for several worker processes is silenced.
SILENCED_SYSTEM_CHECKS = [] if os.environ.get("CACHE_URL") else ["django_cache_bridge.W005"]
