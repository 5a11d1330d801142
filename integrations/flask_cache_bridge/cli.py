"""``flask cache ping``, ``flask cache stats`` and ``flask cache flush``, added to every app
by ``init_app``."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup
from returns.result import Failure, Success

from cache_bridge.engine.bytes_operations import count_pattern
from cache_bridge.observability.health import readiness
from flask_cache_bridge.state import EXTENSION_KEY, AppCache

__all__ = ["cache_cli"]

cache_cli = AppGroup("cache", help="Check and clear this app's cache_bridge cache.")


def _state() -> AppCache:
    state = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, AppCache):
        raise click.ClickException("this app did not initialise CacheBridge (call init_app)")
    return state


@cache_cli.command("ping")
def ping_command() -> None:
    """Send PING and report the round-trip time; exit 1 if the cache does not answer."""
    state = _state()
    started = time.perf_counter()
    answer = state.cache.ping()
    elapsed_ms = (time.perf_counter() - started) * 1000
    breaker = state.cache.breaker
    health = "" if breaker is None else f" ({breaker.stats().summary()})"
    match answer:
        case Success(_):
            click.echo(f"PONG from {state.description} in {elapsed_ms:.2f} ms{health}")
        case Failure(error):
            raise click.ClickException(f"{state.description} did not answer: {error}{health}")


#: Said first, always: the counters of the running app are not reachable from here.
OWN_PROCESS = (
    "Note: this command runs in its own process. The counters below are this process's "
    "(one PING), not those of your running app's workers; for those, export metrics "
    "(docs/observability.md) or GET the readiness route (flask_cache_bridge.health)."
)


@cache_cli.command("stats")
def stats_command() -> None:
    """Ping the cache once and print its state and circuit-breaker counters."""
    state = _state()
    click.echo(OWN_PROCESS)
    report = readiness(state.cache)
    breaker = state.cache.breaker
    counters = "no circuit breaker" if breaker is None else breaker.stats().summary()
    error = f" ({report['error']})" if "error" in report else ""
    click.echo(f"{state.description}: {report['status']}{error}; {counters}")


def _scope(state: AppCache, pattern: str | None) -> str:
    prefix = state.settings.key_prefix
    keys = "every key" if pattern is None else f"the keys matching {pattern!r}"
    where = f"namespace {prefix!r}" if prefix else "the WHOLE database (no key prefix)"
    return f"{keys} in {where} of {state.description}"


@cache_cli.command("flush")
@click.option(
    "--pattern",
    metavar="GLOB",
    help="Only keys matching this Redis glob (as written, without the prefix).",
)
@click.option("--dry-run", is_flag=True, help="Count the keys that would go; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--whole-database",
    is_flag=True,
    help="Needed without CACHE_BRIDGE_KEY_PREFIX, when the namespace is the whole database.",
)
def flush_command(pattern: str | None, dry_run: bool, yes: bool, whole_database: bool) -> None:
    """Delete this app's cached keys (only its CACHE_BRIDGE_KEY_PREFIX namespace)."""
    state = _state()
    scope = _scope(state, pattern)
    adapter = state.adapter
    glob = "*" if pattern is None else pattern
    counted = adapter.run_operation(count_pattern(adapter.keyspace, glob))
    if isinstance(counted, Failure):
        raise click.ClickException(f"could not count the keys: {counted.failure()}")
    found = counted.unwrap()
    if dry_run:
        click.echo(f"Dry run: {found} keys would be deleted ({scope}).")
        return
    if state.settings.key_prefix is None and not whole_database:
        raise click.ClickException(
            f"this app has no CACHE_BRIDGE_KEY_PREFIX, so its namespace is the whole database: "
            f"flushing would delete {scope} ({found} keys now), including keys that other apps "
            "and programs wrote there. Set CACHE_BRIDGE_KEY_PREFIX, or add --whole-database "
            "if that is what you mean."
        )
    if found == 0:
        click.echo(f"Nothing to delete ({scope}).")
        return
    if not yes:
        click.confirm(f"Delete {found} keys ({scope})?", abort=True)
    match state.cache.delete_pattern(pattern or "*"):
        case Success(deleted):
            click.echo(f"Deleted {deleted} keys ({scope}).")
        case Failure(error):
            raise click.ClickException(f"flush failed: {error}")
