"""Cluster and Sentinel URLs: their forms, their mistakes (with what to write instead), masked
passwords, the adapter the factory picks, and failures as values when nothing answers."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from returns.result import Failure

from cache_bridge import (
    CacheConnectionError,
    CacheUnavailableError,
    ConfigurationError,
    create_cache,
    create_sync_cache,
)
from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_sentinel import RedisSentinelCache, SyncRedisSentinelCache
from cache_bridge.config import ClusterSettings, SentinelSettings, parse
from cache_bridge.testing import Harness


def test_cluster_url_forms() -> None:
    settings = parse("redis+cluster://user:p%40ss@Node1:7000,node2,[::1]:7002", {})
    assert isinstance(settings, ClusterSettings)
    assert settings.nodes == (("node1", 7000), ("node2", 6379), ("::1", 7002))
    assert (settings.node.username, settings.node.password) == ("user", "p@ss")
    assert not settings.node.tls
    tls = parse("rediss+cluster://h:1/?timeout=0.5", {"timeout": 0.25, "key_prefix": "app"})
    assert isinstance(tls, ClusterSettings)
    assert tls.node.tls
    assert (tls.node.timeout, tls.key_prefix) == (0.25, "app")  # keywords win


def test_sentinel_url_forms() -> None:
    settings = parse(
        "redis+sentinel://:data@s1,s2:26380/my%2Fservice/3?sentinel_username=watcher",
        {"sentinel_password": "watch"},
    )
    assert isinstance(settings, SentinelSettings)
    assert settings.sentinels == (("s1", 26379), ("s2", 26380))
    assert settings.service_name == "my/service"
    assert (settings.node.db, settings.node.username, settings.node.password) == (3, None, "data")
    assert (settings.sentinel_username, settings.sentinel_password) == ("watcher", "watch")
    plain = parse("redis+sentinel://s1/primary", {})
    assert isinstance(plain, SentinelSettings)
    assert plain.node.db == 0


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("redis+cluster://", {}, "at least one host:port"),
        ("redis+cluster://h1:7000,,h2", {}, "host 2 of the redis+cluster:// URL is empty"),
        ("redis+cluster://h1:port", {}, "must be a number"),
        ("redis+cluster://h1:70000", {}, "from 1 to 65535"),
        ("redis+cluster://h1:7000/1", {}, "only database 0"),
        ("redis+cluster://h1", {"db": 1}, "a cluster has only database 0"),
        ("redis+cluster://h1", {"sentinel_password": "x"}, "unknown option 'sentinel_password'"),
        ("redis+cluster://h1?timout=1", {}, "Did you mean 'timeout'"),
        ("redis+cluster://h1", {"max_connections": 0}, "at least 1"),
        ("redis+sentinel://s1:26379", {}, "names the monitored service"),
        ("redis+sentinel://s1/svc/0/extra", {}, "names the monitored service"),
        ("redis+sentinel://s1/svc/zero", {}, "database after the service name must be a number"),
        ("redis+sentinel://s1/svc", {"sentinel_pasword": "x"}, "Did you mean 'sentinel_password'"),
        ("redis+sentinel://s1/svc", {"sentinel_password": 5}, "must be a str"),
        ("rediss+sentinel://s1/svc", {}, "unsupported cache URL scheme"),
    ],
)
def test_mistakes_raise_configuration_errors(
    url: str, options: dict[str, Any], message: str
) -> None:
    for factory in (create_cache, create_sync_cache):
        with pytest.raises(ConfigurationError, match=re.escape(message)):
            factory(url, **options)


def test_passwords_are_masked_everywhere() -> None:
    cluster = create_sync_cache("redis+cluster://admin:s3cret@h1:7000,h2:7001", key_prefix="p")
    sentinel = create_cache("redis+sentinel://:s3cret@s1/svc/2", sentinel_password="w4tch")
    try:
        for shown in (
            repr(cluster),
            repr(sentinel),
            repr(parse("redis+cluster://:s3cret@h", {})),
            repr(parse("redis+sentinel://s/svc?sentinel_password=w4tch", {})),
        ):
            assert "s3cret" not in shown
            assert "w4tch" not in shown
        assert repr(cluster) == (
            "<SyncRedisClusterCache redis+cluster://admin:***@h1:7000,h2:7001 prefix='p'>"
        )
        assert repr(sentinel) == "<RedisSentinelCache redis+sentinel://:***@s1:26379/svc/2>"
        with pytest.raises(ConfigurationError) as raised:
            create_cache("redis+cluster://:s3cret@h1:bad")
        assert "s3cret" not in str(raised.value)
    finally:
        cluster.close()


def test_the_factory_picks_the_adapter_without_io() -> None:
    made = [
        create_cache("redis+cluster://127.0.0.1:1"),
        create_sync_cache("redis+cluster://127.0.0.1:1"),
        create_cache("redis+sentinel://127.0.0.1:1/svc"),
        create_sync_cache("redis+sentinel://127.0.0.1:1/svc"),
    ]
    kinds = [RedisClusterCache, SyncRedisClusterCache, RedisSentinelCache, SyncRedisSentinelCache]
    assert [type(adapter) for adapter in made] == kinds
    made[1].close()  # type: ignore[attr-defined]
    made[3].close()  # type: ignore[attr-defined]


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: every connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("scheme", ["cluster", "sentinel"])
@pytest.mark.parametrize("blocking", [True, False], ids=["sync", "async"])
def test_nothing_answering_is_a_fast_connection_failure(
    dead_port: int, scheme: str, blocking: bool
) -> None:
    url = (
        f"redis+cluster://127.0.0.1:{dead_port}"
        if scheme == "cluster"
        else f"redis+sentinel://127.0.0.1:{dead_port}/svc"
    )
    factory = create_sync_cache if blocking else create_cache
    adapter: Any = factory(url, connect_timeout=0.5, timeout=0.5, breaker_threshold=2)
    harness = Harness(adapter, scheme)
    try:
        started = time.monotonic()
        result = harness.get_many(["a", "b"])
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), CacheConnectionError)
        assert not isinstance(result.failure(), CacheUnavailableError)
        assert time.monotonic() - started < 0.5 + 0.5 + 2  # the timeouts, plus slack
        # The connection failure opened the adapter's circuit breaker: the next call fails at
        # once, never raising.
        assert adapter.breaker is not None
        assert adapter.breaker.state == "open"
        assert isinstance(harness.get("a").failure(), CacheUnavailableError)
    finally:
        harness.shutdown()


def test_call_bound_counts_every_node_a_refresh_may_ask_and_two_refreshes() -> None:
    cluster = parse(
        "redis+cluster://a:1,b:2,c:3", {"connect_timeout": 0.5, "timeout": 1.0, "retries": 1}
    )
    assert isinstance(cluster, ClusterSettings)
    # (retries + 1) x attempt x (refresh before + attempt + refresh after) + a pool wait, a
    # refresh asking the three listed nodes and one more.
    assert cluster.call_bound() == pytest.approx(2 * 1.5 * (2 * 4 + 1) + 1.0)
    sentinel = parse("redis+sentinel://a:1,b:2/svc", {"connect_timeout": 0.5})
    assert isinstance(sentinel, SentinelSettings)
    assert sentinel.call_bound() == pytest.approx(1 * 1.5 * (2 + 2) + 1.0)


@pytest.mark.parametrize("option", ["ssl_ca_certs", "ssl_cert_reqs", "ssl_check_hostname"])
def test_sentinel_urls_refuse_tls_options_rather_than_ignore_them(option: str) -> None:
    value = {"ssl_ca_certs": "/ca.pem", "ssl_cert_reqs": "required"}.get(option, "true")
    with pytest.raises(ConfigurationError, match=f"unknown option {option!r}"):
        parse("redis+sentinel://127.0.0.1:26379/mymaster", {option: value})
