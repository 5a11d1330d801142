"""``manage.py cache_stats [--alias NAME ...]``: each BridgeCache alias, pinged once, with its
circuit breaker's counters, as seen from this command's own process."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from cache_bridge.observability.health import readiness
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.management.selection import AliasCommand

#: Said first, always: the counters of the running site are not reachable from here.
OWN_PROCESS = (
    "Note: this command runs in its own process. The counters below are this process's "
    "(one PING per alias), not those of your running web workers; for those, export metrics "
    "(docs/observability.md) or GET the readiness view (django_cache_bridge.urls)."
)


class Command(AliasCommand):
    help = "Ping each BridgeCache alias and print its state and circuit-breaker counters."

    def handle(self, *args: Any, aliases: list[str] | None = None, **options: Any) -> None:
        names = self.chosen_aliases(aliases)
        self.stdout.write(OWN_PROCESS)
        for alias in names:
            self.stdout.write(self._line(alias))

    def _line(self, alias: str) -> str:
        try:
            cache = get_bridge_cache(alias)
        except ImproperlyConfigured as exc:
            return f"{alias}: not usable: {exc}"
        sync = cache.adapters().sync
        report = readiness(sync)
        where = cache.bridge_config.settings.describe()
        breaker = sync.breaker
        state = "no circuit breaker" if breaker is None else breaker.stats().summary()
        error = f" ({report['error']})" if "error" in report else ""
        return f"{alias}: {where}: {report['status']}{error}; {state}"
