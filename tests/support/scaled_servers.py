"""Session-wide Redis Cluster and Sentinel set-ups, started by the tests themselves.

A plain module whose fixtures tests/conftest.py imports, so that every test directory shares
one cluster and one sentinel set-up per session. Tests that break a set-up on purpose
(failovers) start their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cache_bridge.testing import find_redis_server
from cache_bridge.testing.redis_cluster import LocalCluster
from cache_bridge.testing.redis_sentinel import LocalSentinel

NO_SERVER = "no redis-server found (install one or set CACHE_BRIDGE_REDIS_SERVER)"


def need_redis_server() -> None:
    if find_redis_server() is None:
        pytest.skip(NO_SERVER)


@pytest.fixture(scope="session")
def cluster_servers() -> Iterator[LocalCluster]:
    """Three primaries with one replica each, for the whole session."""
    need_redis_server()
    cluster = LocalCluster(primaries=3, replicas_per_primary=1)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
def cluster_url(cluster_servers: LocalCluster) -> str:
    """The session cluster's URL, every primary emptied first."""
    cluster_servers.flush()
    return cluster_servers.url


#: The passwords of the session's sentinel set-up: the data nodes' and the sentinels' own.
DATA_PASSWORD = "data-s3cret"
SENTINEL_PASSWORD = "sentinel-s3cret"


@pytest.fixture(scope="session")
def sentinel_servers() -> Iterator[LocalSentinel]:
    """A primary, a replica and three sentinels, all password-protected, for the session."""
    need_redis_server()
    setup = LocalSentinel(password=DATA_PASSWORD, sentinel_password=SENTINEL_PASSWORD)
    setup.start()
    try:
        yield setup
    finally:
        setup.cleanup()


@pytest.fixture
def sentinel_url(sentinel_servers: LocalSentinel) -> str:
    """The session set-up's URL (sentinel password in the query), its primary emptied."""
    sentinel_servers.flush()
    return f"{sentinel_servers.url()}?sentinel_password={SENTINEL_PASSWORD}"
