"""A password given in a cache URL or in the options never shows: not in a repr, a
configuration error, a Failure, a log record, a Django check or command output, or the output
of ``flask cache``.

Each password is two recognisable halves around the characters that break URL parsing, and
every check looks for either half, so that a password cut in two by a parser does not leak
half of itself unnoticed.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from flask import Flask
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import Settings as SettingsWrapper
from returns.result import Failure

from cache_bridge import config, create_cache, create_sync_cache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.config import ClusterSettings, SentinelSettings
from cache_bridge.errors import CacheConnectionError, ConfigurationError
from cache_bridge.testing import Harness, RedisServer
from cache_bridge.testing.redis_server import free_port
from django_cache_bridge.checks import check_caches
from django_cache_bridge.options import parse_config
from flask_cache_bridge import CacheBridge

HEAD, TAIL = "S3cr3tHead", "T41lSecret"
#: The password a test-started server requires (the tests send wrong ones, and this one).
SERVER_PASSWORD = "R1ghtServerPw"


def secret(middle: str = "") -> str:
    return HEAD + middle + TAIL


def assert_hidden(text: str, where: str = "") -> None:
    """Neither half of any test password, nor the server's, appears in ``text``."""
    for part in (HEAD, TAIL, SERVER_PASSWORD):
        assert part not in text, f"password part {part!r} shown in {where}: {text[:400]!r}"


def error_texts(error: BaseException) -> Iterator[str]:
    """str and repr of an error, its ``cause`` and every exception chained to them."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield str(exc)
        yield repr(exc)
        todo += [getattr(exc, "cause", None), exc.__cause__, exc.__context__]


def dead_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def locked_server() -> Iterator[RedisServer]:
    """A test-started redis-server that requires SERVER_PASSWORD."""
    server = RedisServer(extra_args=["--requirepass", SERVER_PASSWORD])
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(autouse=True)
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record of every logger, at every level; checked after each test."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    for record in caplog.records:
        assert_hidden(record.getMessage(), f"log record of {record.name}")
        if record.exc_info and record.exc_info[1] is not None:
            for text in error_texts(record.exc_info[1]):
                assert_hidden(text, f"exception logged by {record.name}")


FAST = {"timeout": 0.3, "connect_timeout": 0.3}


def url_shapes(port: int) -> list[tuple[str, dict[str, Any]]]:
    """A password in each place a URL or the options can carry one."""
    return [
        (f"redis://user:{secret()}@127.0.0.1:{port}/0", {}),
        (f"redis://:{secret()}@127.0.0.1:{port}/0", {}),
        (f"rediss://user:{secret()}@127.0.0.1:{port}/1", {}),
        (f"unix://:{secret()}@/tmp/no-such-redis.sock?db=0", {}),
        (f"redis://user:{secret('%2F%40%3A')}@127.0.0.1:{port}/0", {}),
        (f"redis://127.0.0.1:{port}/0", {"password": secret()}),
        (f"redis://127.0.0.1:{port}/0?password={secret()}", {}),
        (f"unix:///tmp/no-such-redis.sock?db=0&password={secret()}", {}),
    ]


SHAPES = url_shapes(6399)


@pytest.mark.parametrize(("url", "options"), SHAPES)
def test_reprs_of_settings_adapters_and_faces_hide_the_password(
    url: str, options: dict[str, Any]
) -> None:
    parsed = config.parse(url, options)
    assert isinstance(parsed, config.RedisSettings)
    assert parsed.password is not None
    sync = SyncRedisCache(url, **options)
    async_ = RedisCache(url, **options)
    objects: list[object] = [
        parsed,
        sync,
        async_,
        sync.settings,
        sync.with_prefix("p"),
        async_.with_prefix("p:q"),
        create_sync_cache(url, **options),
        create_cache(url, **options),
        parse_config(url, options),
    ]
    for thing in objects:
        assert_hidden(repr(thing), f"repr of {type(thing).__name__}")
        assert_hidden(str(thing), f"str of {type(thing).__name__}")
    assert_hidden(parsed.describe(), "describe()")
    assert_hidden(parsed.masked_url(), "masked_url()")
    sync.close()


# -- malformed URLs ---------------------------------------------------------------------------

_BREAKERS = ":@/?#&%[] \n\\=;,"
passwords = st.builds(secret, st.text(st.sampled_from(_BREAKERS), max_size=3))
urls = st.builds(
    "{}{}{}:{}@{}{}{}".format,
    st.sampled_from(
        [
            *("redis", "rediss", "unix", "REDIS", "memory", "foo", "", "http"),
            *("redis+cluster", "rediss+cluster", "redis+sentinel"),
        ]
    ),
    st.sampled_from(["://", ":/", ":", "//", ":///"]),
    st.sampled_from(["", "user", "u@x", "a:b", "%zz"]),
    passwords,
    st.sampled_from(["127.0.0.1", "h", "[::1]", "[::1", "", "h:99999", "h:0", "h:x", "h:-1"]),
    st.sampled_from(["", "/0", "/x", "/0/1", "/-1", "/run/r.sock", "/%"]),
    st.sampled_from(["", "?db=1", "?bogus=1", "?db=1&db=2", "?timeout=x", "?=", "?a", "?db"]),
)


def _parsed_as_something_else(
    parsed: config.RedisSettings | config.MemorySettings | ClusterSettings | SentinelSettings,
) -> bool:
    """Whether a part of the password was parsed as the host, path, user or name (the URL did
    not say where the password ends): showing those is not a masking failure."""
    if isinstance(parsed, config.MemorySettings):
        return any(part in (parsed.name or "") for part in (HEAD, TAIL))
    if isinstance(parsed, ClusterSettings | SentinelSettings):
        hosts = parsed.nodes if isinstance(parsed, ClusterSettings) else parsed.sentinels
        service = parsed.service_name if isinstance(parsed, SentinelSettings) else ""
        shown = (parsed.node.username or "", service, *(host for host, _ in hosts))
        return any(part in text for part in (HEAD, TAIL) for text in shown)
    shown = (parsed.username or "", parsed.host, parsed.path or "")
    return any(part in text for part in (HEAD, TAIL) for text in shown)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=urls)
def test_configuration_errors_for_malformed_urls_hide_the_password(url: str) -> None:
    try:
        parsed = config.parse(url, {})
    except ConfigurationError as exc:
        assert_hidden(str(exc), f"ConfigurationError for {url!r}")
    else:
        if not _parsed_as_something_else(parsed):
            assert_hidden(repr(parsed), f"settings of {url!r}")
            assert_hidden(parsed.describe(), f"describe() of {url!r}")
    try:
        parse_config(url, {"no_such_option": 1})
    except ConfigurationError as exc:
        assert_hidden(str(exc), f"Django OPTIONS error for {url!r}")


@pytest.mark.parametrize(
    "url",
    [
        f"redis://h/0?password={secret('&')}",
        f"unix:///run/redis.sock?password={secret('&')}",
        f"redis://h/0?password={secret('&')}=1",
    ],
)
def test_a_password_cut_by_the_query_string_is_hidden(url: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        config.parse(url, {})
    assert_hidden(str(error.value), "the error")


@pytest.mark.parametrize(
    "url",
    [
        f"redis+tls://u:{secret(':')}@h/0",
        f"redis//:{secret(':')}@h/0",
        f"foo://u:{secret('::')}@h",
        f"foo:/:{secret('//')}@h",
    ],
)
def test_unsupported_scheme_error_hides_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError, match="unsupported cache URL scheme") as error:
        config.parse(url, {})
    assert_hidden(str(error.value), "the error")


@pytest.mark.parametrize("url", [f"redis:/:{secret('#')}@h/0", f"rediss:/u:{secret('#')}@h"])
def test_a_path_error_hides_a_password_cut_by_a_hash(url: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        config.parse(url, {})
    assert_hidden(str(error.value), "the error")


@pytest.mark.parametrize(
    "url", [f"redis://:{secret('[')}@[::1]:6379/0", f"rediss://u:{secret('[')}@[::1]/0"]
)
def test_urlsplit_errors_hide_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError, match="malformed cache URL") as error:
        config.parse(url, {})
    assert_hidden(str(error.value), "the error")


# -- failures on a dead port and with wrong credentials --------------------------------------


def _failures(url: str, **options: Any) -> list[Any]:
    """The Failure of each protocol call, from both faces."""
    options = {**FAST, **options}
    results = []
    for adapter in (SyncRedisCache(url, **options), RedisCache(url, **options)):
        harness = Harness(adapter, "masking")
        results += [harness.ping(), harness.get("k"), harness.set("k", "v"), harness.flush()]
        harness.shutdown()
    return results


def _check_failures(results: list[Any]) -> None:
    for result in results:
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), CacheConnectionError)
        for text in error_texts(result.failure()):
            assert_hidden(text, "a Failure")


@pytest.mark.parametrize(("url", "options"), url_shapes(dead_port()))
def test_failures_on_a_dead_server_hide_the_password(url: str, options: dict[str, Any]) -> None:
    _check_failures(_failures(url, **options))


@pytest.mark.redis
@pytest.mark.parametrize("user", ["", "default", "nobody"])
def test_failures_with_wrong_credentials_hide_the_password(
    locked_server: RedisServer, user: str
) -> None:
    port = locked_server.port
    _check_failures(_failures(f"redis://{user}:{secret()}@127.0.0.1:{port}/0"))
    _check_failures(
        _failures(f"redis://127.0.0.1:{port}/0", password=secret('"\n'), username=user or None)
    )
    # The right password works, and no success path shows it either.
    url = f"redis://:{SERVER_PASSWORD}@127.0.0.1:{port}/0"
    with SyncRedisCache(url, **FAST) as cache:
        assert cache.ping().unwrap() is True
        assert_hidden(repr(cache), "repr of a connected adapter")


# -- Django ------------------------------------------------------------------------------------


def _django_caches(port: int) -> dict[str, Any]:
    backend = "django_cache_bridge.cache.BridgeCache"
    return {
        "default": {"BACKEND": backend, "LOCATION": "memory://masking"},
        "dead": {
            "BACKEND": backend,
            "LOCATION": f"redis://u:{secret()}@127.0.0.1:{dead_port()}/0",
            "KEY_PREFIX": "dead",
            "OPTIONS": FAST,
        },
        "wrong": {
            "BACKEND": backend,
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": "wrong",
            "OPTIONS": {**FAST, "password": secret()},
        },
    }


@pytest.mark.redis
def test_django_commands_hide_the_password(
    settings: SettingsWrapper, locked_server: RedisServer
) -> None:
    settings.CACHES = _django_caches(locked_server.port)
    for alias in ("dead", "wrong"):
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError) as ping_error:
            call_command("cache_ping", aliases=[alias], stdout=out, stderr=err)
        for text in (out.getvalue(), err.getvalue(), *error_texts(ping_error.value)):
            assert_hidden(text, f"cache_ping --alias {alias}")
        for extra in ({}, {"pattern": "a*"}, {"dry_run": True}):
            out, err = io.StringIO(), io.StringIO()
            with pytest.raises(CommandError) as flush_error:
                call_command(
                    "cache_flush", alias=alias, interactive=False, stdout=out, stderr=err, **extra
                )
            for text in (out.getvalue(), err.getvalue(), *error_texts(flush_error.value)):
                assert_hidden(text, f"cache_flush --alias {alias} {extra}")


@pytest.mark.redis
def test_django_fail_open_logs_hide_the_password(
    settings: SettingsWrapper, locked_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    from django.core.cache import caches

    settings.CACHES = _django_caches(locked_server.port)
    assert caches["dead"].get("k", "miss") == "miss"
    records = list(caplog.records)
    caplog.clear()  # checked here, so that the autouse check does not fail the teardown
    assert records
    for record in records:
        assert_hidden(record.getMessage(), f"log record of {record.name}")


def test_django_missing_redis_py_error_hides_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django_cache_bridge.registry import shared_adapters

    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis-py were not installed
    bridge = parse_config(f"redis://u:{secret()}@127.0.0.1:{dead_port()}/0", {})
    with pytest.raises(ConfigurationError, match="needs redis-py") as error:
        shared_adapters(bridge)
    assert_hidden(str(error.value), "the missing redis-py error")


def test_django_checks_hide_the_password(settings: SettingsWrapper) -> None:
    backend = "django_cache_bridge.cache.BridgeCache"
    bad = {
        "malformed-port": f"redis://u:{secret()}@h:99999/0",
        "malformed-db": f"redis://u:{secret()}@h/x",
        "scheme": f"foo://u:{secret()}@h/0",
        "query": f"redis://u:{secret()}@h/0?bogus=1",
    }
    settings.CACHES = {
        "default": {"BACKEND": backend, "LOCATION": "memory://"},
        **{alias: {"BACKEND": backend, "LOCATION": url} for alias, url in bad.items()},
        "option": {
            "BACKEND": backend,
            "LOCATION": f"redis://u:{secret()}@h/0",
            "OPTIONS": {"pasword": "x"},
        },
        "unsigned": {
            "BACKEND": backend,
            "LOCATION": f"redis://u:{secret()}@h/0",
            "OPTIONS": {"sign": False},
        },
    }
    messages = check_caches()
    assert len(messages) >= len(bad) + 2
    for message in messages:
        assert_hidden(str(message), f"check {message.id}")
        assert_hidden(message.hint or "", f"hint of check {message.id}")


# -- Flask -------------------------------------------------------------------------------------


def _flask_app(url: str, **options: Any) -> tuple[Flask, CacheBridge]:
    app = Flask("masking")
    app.config.update(
        CACHE_BRIDGE_URL=url,
        CACHE_BRIDGE_KEY_PREFIX="masking",
        CACHE_BRIDGE_OPTIONS={**FAST, **options},
    )
    bridge = CacheBridge(app)

    @app.route("/cached")
    @bridge.cached(60)
    def cached() -> str:
        return "fresh"

    @app.route("/limited")
    @bridge.limit("5/m")
    def limited() -> str:
        return "allowed"

    return app, bridge


@pytest.mark.redis
def test_flask_cli_settings_and_logs_hide_the_password(
    locked_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    port = locked_server.port
    apps = [
        _flask_app(f"redis://u:{secret()}@127.0.0.1:{dead_port()}/0"),
        _flask_app(f"redis://127.0.0.1:{port}/0", password=secret()),
        _flask_app(f"redis://:{secret()}@127.0.0.1:{port}/0"),
    ]
    for app, bridge in apps:
        with app.app_context():
            assert_hidden(repr(bridge.settings), "repr of the Flask settings")
            assert_hidden(bridge.description, "the Flask description")
            assert_hidden(repr(bridge.cache), "repr of the Flask cache")
            assert isinstance(bridge.cache.get("k"), Failure)
        client = app.test_client()
        for path in ("/cached", "/limited"):  # both fail open, and log that they did
            response = client.get(path)
            assert response.status_code == 200
            assert_hidden(response.get_data(as_text=True), f"the response of {path}")
        runner = app.test_cli_runner()
        for args in (
            ["cache", "ping"],
            ["cache", "flush", "--yes"],
            ["cache", "flush", "--dry-run"],
            ["cache", "flush", "--pattern", "a*", "--yes"],
        ):
            result = runner.invoke(args=args)
            assert result.exit_code != 0, result.output
            assert_hidden(result.output, f"flask {' '.join(args)}")
            if result.exception is not None:
                for text in error_texts(result.exception):
                    assert_hidden(text, f"flask {' '.join(args)}")
        bridge.close(app)
    logged = {record.name for record in caplog.records}
    # The adapter logs the outage of the cached view; the rate limit its own policy.
    assert {
        "cache_bridge",
        "cache_bridge.ratelimit",
    } <= logged  # the autouse fixture checks them


def test_flask_configuration_errors_hide_the_password() -> None:
    for url, options in (
        (f"redis://u:{secret()}@h:99999/0", {}),
        (f"foo://u:{secret()}@h/0", {}),
        ("redis://h/0", {"password": secret(), "bogus": 1}),
        (f"redis://u:{secret()}@h/0", {"bogus": 1}),
        (f"redis://u:{secret()}@h/0".encode(), {}),
        ("redis://h/0", [("password", secret())]),
        ("redis://h/0", {"password": secret(), 1: "not a name"}),
    ):
        app = Flask("masking_config")
        app.config.update(CACHE_BRIDGE_URL=url, CACHE_BRIDGE_OPTIONS=options)
        with pytest.raises(ConfigurationError) as error:
            CacheBridge(app)
        for text in error_texts(error.value):
            assert_hidden(text, f"Flask configuration error for {url!r}")
