"""``flask cache ping`` and ``flask cache flush`` through Flask's CLI runner."""

from __future__ import annotations

import re

import pytest
import redis
from flask import Flask
from returns.result import Success

from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401


def _fill(app: Flask, bridge: CacheBridge, keys: list[str]) -> None:
    with app.app_context():
        assert bridge.cache.set_many(dict.fromkeys(keys, "x")) == Success(None)


def _left(app: Flask, bridge: CacheBridge, keys: list[str]) -> list[str]:
    with app.app_context():
        found = bridge.cache.get_many(keys).unwrap()
    return sorted(key for key, value in found.items() if value is not None)


def test_ping_reports_the_round_trip(make_app: MakeApp) -> None:
    app = make_app(CACHE_BRIDGE_KEY_PREFIX="cli")
    done = app.test_cli_runner().invoke(args=["cache", "ping"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("PONG from memory://flask-test-")
    assert " ms\n" in done.output


def test_ping_fails_with_a_non_zero_exit_when_redis_is_down(make_app: MakeApp) -> None:
    app = make_app(
        CACHE_BRIDGE_URL=f"redis://:secret@127.0.0.1:{free_port()}/0",
        CACHE_BRIDGE_OPTIONS={"connect_timeout": 0.5},
    )
    done = app.test_cli_runner().invoke(args=["cache", "ping"])
    assert done.exit_code == 1
    assert "did not answer" in done.output
    assert "could not be reached" in done.output
    # The failed ping opened the breaker (whose background probes may have failed too).
    assert re.search(r"circuit open .*; \d+ connection failures, opened 1 times", done.output)
    assert "secret" not in done.output


@pytest.mark.redis
def test_ping_on_redis(make_app: MakeApp, redis_url: str) -> None:
    app = make_app(CACHE_BRIDGE_URL=redis_url)
    done = app.test_cli_runner().invoke(args=["cache", "ping"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"PONG from {redis_url} in ")
    assert "(circuit closed; 0 connection failures, opened 0 times" in done.output


def test_flush_asks_first_and_a_no_keeps_everything(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_KEY_PREFIX="cli")
    _fill(app, bridge, ["a", "b"])
    done = app.test_cli_runner().invoke(args=["cache", "flush"], input="n\n")
    assert done.exit_code == 1
    assert "Delete 2 keys (every key in namespace 'cli' of memory://" in done.output
    assert "Aborted" in done.output
    assert _left(app, bridge, ["a", "b"]) == ["a", "b"]


def test_flush_deletes_after_a_yes_and_reports_the_count(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    app = make_app(CACHE_BRIDGE_KEY_PREFIX="cli")
    _fill(app, bridge, ["a", "b", "c"])
    done = app.test_cli_runner().invoke(args=["cache", "flush"], input="y\n")
    assert done.exit_code == 0, done.output
    assert "Deleted 3 keys" in done.output
    assert _left(app, bridge, ["a", "b", "c"]) == []


def test_flush_dry_run_counts_and_deletes_nothing(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_KEY_PREFIX="cli")
    _fill(app, bridge, ["user:1", "user:2", "page:1"])
    done = app.test_cli_runner().invoke(args=["cache", "flush", "--pattern", "user:*", "--dry-run"])
    assert done.exit_code == 0, done.output
    assert done.output == (
        "Dry run: 2 keys would be deleted (the keys matching 'user:*' in namespace 'cli' "
        f"of memory://{app.config['CACHE_BRIDGE_URL'].removeprefix('memory://')} "
        "prefix='cli').\n"
    )
    assert _left(app, bridge, ["user:1", "user:2", "page:1"]) == ["page:1", "user:1", "user:2"]


def test_flush_with_a_pattern_and_yes(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_KEY_PREFIX="cli")
    _fill(app, bridge, ["user:1", "user:2", "page:1"])
    done = app.test_cli_runner().invoke(args=["cache", "flush", "--pattern", "user:*", "--yes"])
    assert done.exit_code == 0, done.output
    assert "Deleted 2 keys" in done.output
    assert _left(app, bridge, ["user:1", "user:2", "page:1"]) == ["page:1"]


def test_flush_with_nothing_to_delete_says_so(make_app: MakeApp) -> None:
    app = make_app(CACHE_BRIDGE_KEY_PREFIX="cli")
    done = app.test_cli_runner().invoke(args=["cache", "flush"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Nothing to delete")


def test_flush_with_an_empty_pattern_is_refused(make_app: MakeApp) -> None:
    app = make_app(CACHE_BRIDGE_KEY_PREFIX="cli")
    done = app.test_cli_runner().invoke(args=["cache", "flush", "--pattern", "", "--yes"])
    assert done.exit_code == 1
    assert "pattern must not be empty" in done.output


def test_flush_without_a_prefix_explains_and_needs_whole_database(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    app = make_app()
    _fill(app, bridge, ["mine", "someone-elses"])
    refused = app.test_cli_runner().invoke(args=["cache", "flush", "--yes"])
    assert refused.exit_code == 1
    assert "no CACHE_BRIDGE_KEY_PREFIX" in refused.output
    assert "(2 keys now)" in refused.output
    assert "--whole-database" in refused.output
    assert _left(app, bridge, ["mine", "someone-elses"]) == ["mine", "someone-elses"]
    done = app.test_cli_runner().invoke(args=["cache", "flush", "--whole-database"], input="y\n")
    assert done.exit_code == 0, done.output
    assert "the WHOLE database (no key prefix)" in done.output
    assert "Deleted 2 keys" in done.output


@pytest.mark.redis
def test_flush_on_redis_touches_only_the_apps_namespace(
    make_app: MakeApp, bridge: CacheBridge, redis_url: str, redis_client: redis.Redis
) -> None:
    app = make_app(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_KEY_PREFIX="mine")
    redis_client.mset({"mine:a": "1", "mine:b": "2", "theirs:a": "3", "minefield": "4"})
    dry = app.test_cli_runner().invoke(args=["cache", "flush", "--dry-run"])
    assert "Dry run: 2 keys would be deleted" in dry.output
    done = app.test_cli_runner().invoke(args=["cache", "flush", "--yes"])
    assert done.exit_code == 0, done.output
    assert f"Deleted 2 keys (every key in namespace 'mine' of {redis_url} prefix='mine')" in (
        done.output
    )
    assert sorted(redis_client.keys()) == [b"minefield", b"theirs:a"]


def test_flush_fails_cleanly_when_redis_is_down(make_app: MakeApp) -> None:
    app = make_app(
        CACHE_BRIDGE_URL=f"redis://127.0.0.1:{free_port()}/0",
        CACHE_BRIDGE_KEY_PREFIX="cli",
        CACHE_BRIDGE_OPTIONS={"connect_timeout": 0.5},
    )
    done = app.test_cli_runner().invoke(args=["cache", "flush", "--yes"])
    assert done.exit_code == 1
    assert "could not count the keys" in done.output


def test_every_initialised_app_gets_the_commands(make_app: MakeApp) -> None:
    for app in (make_app(), make_app()):
        done = app.test_cli_runner().invoke(args=["cache", "--help"])
        assert done.exit_code == 0
        assert "ping" in done.output
        assert "flush" in done.output
