"""Checked cache configurations: pure data, one class per kind of store.

Each answers for itself what the integrations need to know (what it prints, which store it
names, how long one call may take) so that no caller needs an ``isinstance`` chain.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Self
from urllib.parse import quote

from cache_bridge.config.options import (
    DEFAULT_BREAKER_COOLDOWN,
    DEFAULT_BREAKER_THRESHOLD,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_TIMEOUT,
)
from cache_bridge.config.url import hosts_text

__all__ = [
    "ClusterSettings",
    "MemorySettings",
    "NetworkSettings",
    "RedisSettings",
    "SentinelSettings",
    "Settings",
]


@dataclass(frozen=True)
class MemorySettings:
    """A checked ``memory://[NAME]`` configuration."""

    name: str | None
    key_prefix: str | None = None
    max_entries: int = DEFAULT_MAX_ENTRIES
    clock: Callable[[], float] = time.time

    #: Whether the store is across a network (a Redis server, a cluster, sentinels).
    is_network: ClassVar[bool] = False
    #: The extra to install for the adapter (``""``: none).
    extra: ClassVar[str] = ""
    requires: ClassVar[str] = "the in-memory adapter is not registered"

    def describe(self) -> str:
        return f"memory://{self.name or ''}" + (
            f" prefix={self.key_prefix!r}" if self.key_prefix else ""
        )

    def store_identity(self, default_name: str = "") -> tuple[object, ...]:
        """What names the store these settings write to (prefix aside)."""
        return ("memory", self.name or default_name)

    def call_bound(self) -> float:
        """The longest one call may take: an in-memory call does not wait."""
        return 0.0


@dataclass(frozen=True)
class RedisSettings:
    """A checked ``redis://``, ``rediss://`` or ``unix://`` configuration."""

    scheme: str
    host: str = "localhost"
    port: int = 6379
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    key_prefix: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    retries: int = 0
    breaker_threshold: int = DEFAULT_BREAKER_THRESHOLD
    breaker_cooldown: float = DEFAULT_BREAKER_COOLDOWN
    client_name: str | None = None
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_cert_reqs: str = "required"
    ssl_check_hostname: bool = True
    near_cache: bool = False
    near_cache_max_entries: int = 10_000
    near_cache_max_bytes: int = 64 * 1024 * 1024

    is_network: ClassVar[bool] = True
    extra: ClassVar[str] = "redis"
    #: What the adapter needs that may not be installed.
    requires: ClassVar[str] = "the Redis adapter needs redis-py"

    @property
    def connection(self) -> RedisSettings:
        """The settings each connection to a data node uses."""
        return self

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***``."""
        auth = ""
        if self.username or self.password:
            auth = quote(self.username or "", safe="") + (":***" if self.password else "") + "@"
        if self.path is not None:
            return f"unix://{auth}{self.path}?db={self.db}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{auth}{host}:{self.port}/{self.db}"

    def describe(self) -> str:
        return self.masked_url() + (f" prefix={self.key_prefix!r}" if self.key_prefix else "")

    def store_identity(self, default_name: str = "") -> tuple[object, ...]:
        """What names the store these settings write to (prefix aside)."""
        if self.path is not None:
            return ("redis", self.path, self.db)
        return ("redis", self.host.lower(), self.port, self.db)

    def without_prefix(self) -> RedisSettings:
        """The same server and connection settings, without a key prefix."""
        return dataclasses.replace(self, key_prefix=None)

    def call_bound(self) -> float:
        """The longest one call of an async face may take before it returns a Failure: every
        attempt within ``connect_timeout + timeout``, ``retries`` more of them, and a wait of up
        to ``timeout`` for a free pooled connection."""
        attempt = self.connect_timeout + self.timeout
        return (self.retries + 1) * attempt + self.timeout


def _auth_text(node: RedisSettings) -> str:
    if not (node.username or node.password):
        return ""
    return quote(node.username or "", safe="") + (":***" if node.password else "") + "@"


class _ManyServers:
    """What a configuration of several servers (a cluster, sentinels) shares: ``node`` holds
    the settings every connection to a data node uses."""

    node: RedisSettings

    is_network: ClassVar[bool] = True
    extra: ClassVar[str] = "redis"
    #: What the adapter needs that may not be installed.
    requires: ClassVar[str] = "the Redis adapter needs redis-py"

    @property
    def key_prefix(self) -> str | None:
        return self.node.key_prefix

    @property
    def connection(self) -> RedisSettings:
        """The settings each connection to a data node uses."""
        return self.node

    def masked_url(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        prefix = f" prefix={self.key_prefix!r}" if self.key_prefix else ""
        return self.masked_url() + prefix

    def without_prefix(self) -> Self:
        """The same servers and connection settings, without a key prefix."""
        return dataclasses.replace(self, node=self.node.without_prefix())  # type: ignore[type-var]


@dataclass(frozen=True)
class ClusterSettings(_ManyServers):
    """A checked ``redis+cluster://`` configuration: start-up nodes, and the connection
    settings every node shares (``node``: credentials, timeouts, pool size, TLS)."""

    scheme: str
    nodes: tuple[tuple[str, int], ...]
    node: RedisSettings

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***``."""
        return f"{self.scheme}://{_auth_text(self.node)}{hosts_text(self.nodes)}"

    def store_identity(self, default_name: str = "") -> tuple[object, ...]:
        """What names the store these settings write to (prefix aside)."""
        return ("cluster", *sorted(self.nodes))

    def call_bound(self) -> float:
        """The longest one call of an async face may take before it returns a Failure, each
        step within ``connect_timeout + timeout``, the whole repeated ``retries`` times, plus a
        wait of up to ``timeout`` for a free connection.

        A slot map refresh asks the URL's nodes in turn plus one more (the node a MOVED named,
        or the failed node, asked last), never every node discovered since (the clients are
        built with ``dynamic_startup_nodes=False``). A call may refresh before its attempt (a
        failure of an earlier call asked for one) and again after it (its own failure, or the
        end of a SCAN walk). The attempt itself talks to the primaries in parallel on the async
        face; the blocking face visits a batch's primaries in turn, one step each.
        """
        refresh = len(self.nodes) + 1
        return _bound(self.node, steps=2 * refresh + 1)


@dataclass(frozen=True)
class SentinelSettings(_ManyServers):
    """A checked ``redis+sentinel://`` configuration: the sentinels, the service they watch,
    the sentinels' own credentials, and the data nodes' connection settings (``node``)."""

    scheme: str
    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    node: RedisSettings
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***`` (sentinel passwords never appear)."""
        where = hosts_text(self.sentinels)
        service = quote(self.service_name, safe="")
        return f"{self.scheme}://{_auth_text(self.node)}{where}/{service}/{self.node.db}"

    def store_identity(self, default_name: str = "") -> tuple[object, ...]:
        """What names the store these settings write to (prefix aside)."""
        return ("sentinel", self.service_name, self.node.db, *sorted(self.sentinels))

    def call_bound(self) -> float:
        """The longest one call of an async face may take before it returns a Failure: a new
        connection asks the sentinels in turn for the primary, then connects; each step within
        ``connect_timeout + timeout``, the whole repeated ``retries`` times, plus a wait of up to
        ``timeout`` for a free connection."""
        return _bound(self.node, steps=len(self.sentinels) + 2)


def _bound(node: RedisSettings, steps: int) -> float:
    attempt = node.connect_timeout + node.timeout
    return (node.retries + 1) * attempt * steps + node.timeout


#: Any checked configuration.
Settings = MemorySettings | RedisSettings | ClusterSettings | SentinelSettings
#: A configuration of a store across a network.
NetworkSettings = RedisSettings | ClusterSettings | SentinelSettings
