"""One set of options for any URL: network options on memory:// are accepted (checked, no
effect), and a key_prefix given in the URL and as an option must agree."""

from __future__ import annotations

from typing import Any

import pytest
from returns.result import Success

from cache_bridge import ConfigurationError, config, create_sync_cache
from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.config import ClusterSettings, SentinelSettings

#: What a settings file written for Redis holds: every network option, with a good value.
NETWORK: dict[str, Any] = {
    "connect_timeout": 0.5,
    "timeout": 0.5,
    "max_connections": 20,
    "retries": 1,
    "breaker_threshold": 3,
    "breaker_cooldown": 1.5,
    "client_name": "shop",
    "db": 2,
    "username": "app",
    "password": "s3cret",
    "ssl_ca_certs": "/etc/ssl/ca.pem",
    "ssl_certfile": "/etc/ssl/client.pem",
    "ssl_keyfile": "/etc/ssl/client.key",
    "ssl_cert_reqs": "required",
    "ssl_check_hostname": True,
    "sentinel_username": "watch",
    "sentinel_password": "s3cret-too",
    "near_cache": True,
    "near_cache_max_entries": 100,
    "near_cache_max_bytes": 100_000,
}


def test_the_network_options_are_every_option_a_network_url_takes() -> None:
    # A new network option shows up here, so memory:// keeps accepting whatever Redis does.
    assert set(config.NETWORK_OPTIONS) == {
        *(name for name in config.REDIS_OPTIONS if name != "key_prefix"),
        "sentinel_username",
        "sentinel_password",
    }
    assert set(NETWORK) == set(config.NETWORK_OPTIONS)
    assert set(config.MEMORY_OPTIONS) == {"key_prefix", "max_entries", "clock", *NETWORK}


@pytest.mark.parametrize("cls", [SyncInMemoryCache, InMemoryCache])
def test_memory_accepts_every_network_option_and_ignores_it(cls: type[Any]) -> None:
    settings = config.parse("memory://portable", NETWORK)
    assert settings == config.MemorySettings(name="portable")
    cache = cls("memory://", **NETWORK)
    assert cache.key_prefix is None


def test_a_memory_cache_with_network_options_works() -> None:
    cache = create_sync_cache("memory://", **NETWORK)
    assert cache.set("k", "v") == Success(None)
    assert cache.get("k") == Success("v")
    cache.close()


def test_network_options_in_a_memory_url_query_are_accepted_too() -> None:
    settings = config.parse("memory://q?timeout=0.5&max_connections=20&key_prefix=app", {})
    assert settings == config.MemorySettings(name="q", key_prefix="app")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be more than 0"),
        ({"max_connections": "many"}, "max_connections must be a whole number"),
        ({"breaker_threshold": -1}, "breaker_threshold must be 0 or more"),
        ({"ssl_cert_reqs": "maybe"}, "ssl_cert_reqs must be"),
        ({"timout": 1}, "unknown option 'timout' for memory:// caches. Did you mean 'timeout'"),
    ],
)
def test_memory_still_checks_the_values_of_network_options(
    options: dict[str, Any], message: str
) -> None:
    # A mistake shows on memory:// too, not first when the URL switches to Redis.
    with pytest.raises(ConfigurationError, match=message):
        config.parse("memory://", options)


def test_a_password_option_on_memory_is_never_shown() -> None:
    with pytest.raises(ConfigurationError) as raised:
        config.parse("memory://?password=s3cret&timeout=x", {})
    assert "s3cret" not in str(raised.value)


def test_one_options_dict_serves_memory_and_redis(redis_url: str, redis_client: object) -> None:
    options = {"timeout": 0.5, "connect_timeout": 0.5, "max_connections": 5, "retries": 0}
    for url in ("memory://portable-both", redis_url):
        cache = create_sync_cache(f"{url}?key_prefix=portable", **options)
        assert cache.set("k", url) == Success(None)
        assert cache.get("k") == Success(url)
        cache.close()


# -- key_prefix given twice ---------------------------------------------------------------------

URLS = [
    "memory://p",
    "redis://h:6379/0",
    "rediss://h:6379/0",
    "unix:///run/redis.sock",
    "redis+cluster://h1:7000,h2:7001",
    "redis+sentinel://h1:26379/mymaster/0",
]


def _prefix(settings: object) -> str | None:
    if isinstance(settings, ClusterSettings | SentinelSettings):
        return settings.key_prefix
    assert isinstance(settings, config.MemorySettings | config.RedisSettings)
    return settings.key_prefix


@pytest.mark.parametrize("url", URLS)
def test_a_key_prefix_in_the_url_is_used(url: str) -> None:
    joiner = "&" if "?" in url else "?"
    assert _prefix(config.parse(f"{url}{joiner}key_prefix=shop", {})) == "shop"
    # The same prefix as an option as well is no conflict.
    assert _prefix(config.parse(f"{url}{joiner}key_prefix=shop", {"key_prefix": "shop"})) == (
        "shop"
    )
    assert _prefix(config.parse(url, {"key_prefix": "shop"})) == "shop"


@pytest.mark.parametrize("url", URLS)
def test_a_key_prefix_in_the_url_and_a_different_option_is_an_error(url: str) -> None:
    joiner = "&" if "?" in url else "?"
    with pytest.raises(ConfigurationError, match=r"\?key_prefix= and the key_prefix option"):
        config.parse(f"{url}{joiner}key_prefix=shop", {"key_prefix": "blog"})


def test_the_conflict_message_never_shows_the_url_part() -> None:
    # An unescaped '?' in a password puts its tail in the query: it must not be shown.
    with pytest.raises(ConfigurationError) as raised:
        config.resolve_key_prefix("redis://u:pw?key_prefix=tail@h/0", "app", "KEY_PREFIX")
    assert "tail" not in str(raised.value)
    assert "KEY_PREFIX ('app')" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "given", "expected"),
    [
        ("redis://h/0", None, None),
        ("redis://h/0", "", None),
        ("redis://h/0", "site", "site"),
        ("redis://h/0?key_prefix=site", None, "site"),
        ("redis://h/0?key_prefix=site", "", "site"),
        ("redis://h/0?key_prefix=site", "site", "site"),
        ("memory://?key_prefix=site", None, "site"),
    ],
)
def test_resolve_key_prefix(url: str, given: str | None, expected: str | None) -> None:
    assert config.resolve_key_prefix(url, given, "KEY_PREFIX") == expected


def test_resolve_key_prefix_refuses_a_conflict_and_a_malformed_url() -> None:
    with pytest.raises(ConfigurationError, match=r"KEY_PREFIX \('blog'\) differ"):
        config.resolve_key_prefix("redis://h/0?key_prefix=site", "blog", "KEY_PREFIX")
    with pytest.raises(ConfigurationError, match="malformed"):
        config.resolve_key_prefix("redis://[h/0", None, "KEY_PREFIX")
