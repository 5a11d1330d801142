"""What ``cache_ping`` and ``cache_stats`` share: the ``--alias NAME`` option (repeatable) and
the aliases it selects, every BridgeCache alias by default."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_cache_bridge.aliases import bridge_aliases

__all__ = ["AliasCommand"]


class AliasCommand(BaseCommand):
    """A command over some CACHES aliases: ``--alias NAME`` (repeatable) or every
    BridgeCache alias."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--alias",
            action="append",
            dest="aliases",
            metavar="NAME",
            help="a CACHES alias (repeatable; default: every BridgeCache alias)",
        )

    def chosen_aliases(self, aliases: list[str] | None) -> list[str]:
        """``aliases``, or every BridgeCache alias; CommandError for an unknown alias or when
        there is none."""
        names = aliases or bridge_aliases()
        if not names:
            raise CommandError("no CACHES alias uses django_cache_bridge.cache.BridgeCache")
        for alias in names:
            if alias not in settings.CACHES:
                raise CommandError(
                    f"unknown cache alias {alias!r}; configured: {', '.join(settings.CACHES)}"
                )
        return names
