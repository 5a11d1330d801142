"""``manage.py cache_ping [--alias NAME ...]``: a health probe for BridgeCache aliases."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from returns.result import Failure, Success

from django_cache_bridge import admin
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.management.selection import AliasCommand


class Command(AliasCommand):
    help = (
        "Ping each BridgeCache alias (all of them by default) and print the round-trip time; "
        "exit with status 1 if any does not answer."
    )

    def handle(self, *args: Any, aliases: list[str] | None = None, **options: Any) -> None:
        names = self.chosen_aliases(aliases)
        failed = [alias for alias in names if not self._ping(alias)]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(names)} caches did not answer: {', '.join(failed)}",
                returncode=1,
            )

    def _ping(self, alias: str) -> bool:
        try:
            cache = get_bridge_cache(alias)
            started = time.perf_counter()
            result = admin.ping(cache)
        except ImproperlyConfigured as exc:
            self.stderr.write(f"{alias}: not usable: {exc}")
            return False
        millis = (time.perf_counter() - started) * 1000
        where = cache.bridge_config.settings.describe()
        breaker = cache.adapters().sync.breaker  # None on memory://
        if breaker is not None:
            where += f"; {breaker.stats().summary()}"
        match result:
            case Success(_):
                self.stdout.write(f"{alias}: PONG in {millis:.2f} ms ({where})")
                return True
            case Failure(error):
                self.stderr.write(f"{alias}: FAILED after {millis:.2f} ms ({where}): {error}")
        return False
