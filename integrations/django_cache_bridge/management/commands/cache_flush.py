"""``manage.py cache_flush [--alias NAME] [--pattern GLOB] [--dry-run] [--noinput]``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from returns.result import Failure, Success

from django_cache_bridge import admin
from django_cache_bridge.access import get_bridge_cache


class Command(BaseCommand):
    help = (
        "Delete the keys of one BridgeCache alias (only keys KEY_PREFIX:<VERSION>:..., every "
        "VERSION), or those of its current VERSION matching --pattern; asks first unless "
        "--noinput."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alias", default="default", metavar="NAME")
        parser.add_argument(
            "--pattern",
            metavar="GLOB",
            help="Redis glob over Django keys of the alias's current VERSION, e.g. 'user:*'",
        )
        parser.add_argument("--dry-run", action="store_true", help="count the keys, delete nothing")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(
        self,
        *args: Any,
        alias: str,
        pattern: str | None,
        dry_run: bool,
        interactive: bool,
        **options: Any,
    ) -> None:
        try:
            cache = get_bridge_cache(alias)
        except ImproperlyConfigured as exc:  # InvalidCacheBackendError too (unknown alias)
            raise CommandError(f"cache alias {alias!r}: {exc}") from exc
        if pattern is not None and not pattern:
            raise CommandError("--pattern must not be empty (leave it out to flush the alias)")
        if pattern is None:
            # Every VERSION's keys, but only those in the default key function's layout
            # (KEY_PREFIX:<int>:...): an alias prefixed KEY_PREFIX:x on the server keeps its own.
            what = f"keys matching {admin.alias_keys_description(cache)!r} in cache {alias!r}"
            count_result = admin.count_alias_keys(cache)
        else:
            glob = admin.key_glob(cache, pattern)
            what = f"keys matching {glob!r} in cache {alias!r}"
            count_result = admin.count_keys(cache, glob)
        match count_result:
            case Success(int() as count):
                pass
            case Failure(error):
                raise CommandError(f"could not count {what}: {error}")
        if dry_run:
            self.stdout.write(f"Would remove {count} {what}.")
            return
        if interactive and count:
            answer = input(f"This removes {count} {what}. Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                self.stdout.write("Cancelled; nothing was removed.")
                return
        removed_result = (
            admin.delete_alias_keys(cache) if pattern is None else admin.delete_keys(cache, glob)
        )
        match removed_result:
            case Success(int() as removed):
                self.stdout.write(f"Removed {removed} {what}.")
            case Failure(error):
                raise CommandError(f"could not remove {what}: {error}")
