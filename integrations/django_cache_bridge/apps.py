"""The reusable app: ``INSTALLED_APPS += ["django_cache_bridge"]`` registers the checks and
the ``cache_ping`` and ``cache_flush`` management commands."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class CacheBridgeConfig(AppConfig):
    name = "django_cache_bridge"
    verbose_name = "cache_bridge"

    def ready(self) -> None:
        from django_cache_bridge.checks import (
            check_caches,
            check_ratelimit_store,
            check_sessions,
        )
        from django_cache_bridge.ratelimit_config import check_ratelimit

        checks.register(check_caches, checks.Tags.caches)
        checks.register(check_sessions, checks.Tags.caches)
        checks.register(check_ratelimit_store, checks.Tags.caches)
        checks.register(check_ratelimit, checks.Tags.caches)
