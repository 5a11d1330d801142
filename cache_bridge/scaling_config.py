"""Cache URLs for more than one Redis server: Redis Cluster and Redis Sentinel.

``redis+cluster://[user:password@]host:port[,host:port...][?options]`` (and
``rediss+cluster://`` for TLS) names start-up nodes of a cluster;
``redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db][?options]``
names the sentinels that watch ``service_name``. User and password are the data nodes'
credentials in both; the sentinels' own are the ``sentinel_username`` / ``sentinel_password``
options. Mistakes raise :class:`~cache_bridge.errors.ConfigurationError`, as in
:mod:`cache_bridge.config`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from cache_bridge import config
from cache_bridge.errors import ConfigurationError

__all__ = [
    "CLUSTER_SCHEMES",
    "SENTINEL_OPTIONS",
    "SENTINEL_SCHEMES",
    "ClusterSettings",
    "SentinelSettings",
    "call_bound",
    "parse_scaled",
]

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel",)
#: Options a sentinel URL takes on top of the data nodes' ones.
SENTINEL_OPTIONS = tuple(config.SENTINEL_AUTH)
_SENTINEL_PORT = 26379

Spec = dict[str, Callable[[str, object], Any]]


def _cluster_spec() -> Spec:
    # Everything a redis:// URL takes, except a database: a cluster has only database 0.
    return {name: check for name, check in config._REDIS.items() if name != "db"}


def _sentinel_spec() -> Spec:
    # No ssl_* options: TLS to a sentinel-managed primary is not supported, and an option
    # accepted and then ignored would leave a user who asked for TLS on plain TCP.
    return {
        **{name: check for name, check in config._REDIS.items() if not name.startswith("ssl_")},
        **config.SENTINEL_AUTH,
    }


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _hosts_text(hosts: tuple[tuple[str, int], ...]) -> str:
    return ",".join(f"{_host(h)}:{p}" for h, p in hosts)


def _auth_text(node: config.RedisSettings) -> str:
    if not (node.username or node.password):
        return ""
    return quote(node.username or "", safe="") + (":***" if node.password else "") + "@"


@dataclass(frozen=True)
class ClusterSettings:
    """A checked ``redis+cluster://`` configuration: start-up nodes, and the connection
    settings every node shares (``node``: credentials, timeouts, pool size, TLS)."""

    scheme: str
    nodes: tuple[tuple[str, int], ...]
    node: config.RedisSettings

    @property
    def key_prefix(self) -> str | None:
        return self.node.key_prefix

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***``."""
        return f"{self.scheme}://{_auth_text(self.node)}{_hosts_text(self.nodes)}"

    def describe(self) -> str:
        prefix = f" prefix={self.key_prefix!r}" if self.key_prefix else ""
        return self.masked_url() + prefix


@dataclass(frozen=True)
class SentinelSettings:
    """A checked ``redis+sentinel://`` configuration: the sentinels, the service they watch,
    the sentinels' own credentials, and the data nodes' connection settings (``node``)."""

    scheme: str
    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    node: config.RedisSettings
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    @property
    def key_prefix(self) -> str | None:
        return self.node.key_prefix

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***`` (sentinel passwords never appear)."""
        where = _hosts_text(self.sentinels)
        service = quote(self.service_name, safe="")
        return f"{self.scheme}://{_auth_text(self.node)}{where}/{service}/{self.node.db}"

    def describe(self) -> str:
        prefix = f" prefix={self.key_prefix!r}" if self.key_prefix else ""
        return self.masked_url() + prefix


def call_bound(settings: ClusterSettings | SentinelSettings) -> float:
    """The longest one call of an async face may take before it returns a Failure, each step
    within ``connect_timeout + timeout``, the whole repeated ``retries`` times, plus a wait of
    up to ``timeout`` for a free connection.

    Cluster: a slot map refresh asks the URL's nodes in turn plus one more (the node a MOVED
    named, or the failed node, asked last), never every node discovered since (the clients
    are built with ``dynamic_startup_nodes=False``). A call may refresh before its attempt
    (a failure of an earlier call asked for one) and again after it (its own failure, or the
    end of a SCAN walk). The attempt itself talks to the primaries in parallel on the async
    face; the blocking face visits a batch's primaries in turn, one step each.

    Sentinel: a new connection asks the sentinels in turn for the primary, then connects.
    """
    node = settings.node
    attempt = node.connect_timeout + node.timeout
    if isinstance(settings, ClusterSettings):
        refresh = len(settings.nodes) + 1
        steps = 2 * refresh + 1
    else:
        steps = len(settings.sentinels) + 2
    return (node.retries + 1) * attempt * steps + node.timeout


def _split_hosts(scheme: str, text: str, default_port: int) -> tuple[tuple[str, int], ...]:
    if not text:
        raise ConfigurationError(
            f"a {scheme}:// URL needs at least one host:port, e.g. {scheme}://10.0.0.1:6379"
        )
    hosts = []
    # Messages name a host by its position, never by its text: in a malformed URL the text
    # may hold part of a password.
    for number, item in enumerate(text.split(","), start=1):
        host, port_text = item, ""
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest and not rest.startswith(":"):
                raise ConfigurationError(
                    f"host {number} of the {scheme}:// URL is malformed; write an IPv6 "
                    "address in brackets, as in [::1]:6379"
                )
            port_text = rest[1:]
        elif ":" in item:
            host, _, port_text = item.rpartition(":")
        if not host:
            raise ConfigurationError(
                f"host {number} of the {scheme}:// URL is empty; separate hosts with ',' "
                "as in host1:6379,host2:6379"
            )
        if port_text and not (port_text.isascii() and port_text.isdigit()):
            raise ConfigurationError(
                f"the port of host {number} in the {scheme}:// URL must be a number from 1 "
                "to 65535 (percent-encode ':', '/', '?', '#' and '@' in a password)"
            )
        port = int(port_text) if port_text else default_port
        if not 1 <= port <= 65535:
            raise ConfigurationError(
                f"the port of host {number} in the {scheme}:// URL must be from 1 to 65535"
            )
        hosts.append((unquote(host).lower(), port))
    return tuple(hosts)


def _credentials(userinfo: str) -> dict[str, object]:
    if not userinfo:
        return {}
    user, colon, password = userinfo.partition(":")
    given: dict[str, object] = {}
    if user:
        given["username"] = unquote(user)
    if colon:
        given["password"] = unquote(password)
    return given


def _cluster(scheme: str, parts: Any, options: Mapping[str, object]) -> ClusterSettings:
    userinfo, _, hosts_text = parts.netloc.rpartition("@")
    nodes = _split_hosts(scheme, hosts_text, 6379)
    if parts.path not in ("", "/", "/0"):
        raise ConfigurationError(
            f"a {scheme}:// URL has no path (a cluster has only database 0): write "
            f"{scheme}://host1:6379,host2:6379?key_prefix=app"
        )
    query = config.url_options(scheme, {**_cluster_spec(), "db": config._REDIS["db"]}, parts)
    given = config.merge_options(query, options, _credentials(userinfo))
    if "db" in given:
        raise ConfigurationError(
            f"option db does not apply to {scheme}:// caches: a cluster has only database 0; "
            "give each application a key_prefix instead"
        )
    checked = config._options(scheme, _cluster_spec(), given)
    host, port = nodes[0]
    node_scheme = "rediss" if scheme.startswith("rediss") else "redis"
    node = config.RedisSettings(scheme=node_scheme, host=host, port=port, **checked)
    return ClusterSettings(scheme=scheme, nodes=nodes, node=node)


def _sentinel(scheme: str, parts: Any, options: Mapping[str, object]) -> SentinelSettings:
    userinfo, _, hosts_text = parts.netloc.rpartition("@")
    sentinels = _split_hosts(scheme, hosts_text, _SENTINEL_PORT)
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    if segments and segments[-1] == "":
        segments.pop()
    if not segments or not segments[0] or len(segments) > 2:
        raise ConfigurationError(
            f"a {scheme}:// URL names the monitored service and optionally a database: "
            f"{scheme}://10.0.0.1:26379,10.0.0.2:26379/mymaster/0"
        )
    given: dict[str, object] = _credentials(userinfo)
    if len(segments) == 2:
        db_text = segments[1]
        if not (db_text.isascii() and db_text.isdigit()):
            raise ConfigurationError(
                "the database after the service name must be a number, as in "
                f"{scheme}://10.0.0.1:26379/mymaster/0"
            )
        given["db"] = int(db_text)
    query = config.url_options(scheme, _sentinel_spec(), parts)
    checked = config._options(scheme, _sentinel_spec(), config.merge_options(query, options, given))
    sentinel_auth = {name: checked.pop(name) for name in SENTINEL_OPTIONS if name in checked}
    host, port = sentinels[0]
    node = config.RedisSettings(scheme="redis", host=host, port=port, **checked)
    return SentinelSettings(
        scheme=scheme,
        sentinels=sentinels,
        service_name=segments[0],
        node=node,
        **sentinel_auth,
    )


def parse_scaled(
    scheme: str, parts: Any, options: Mapping[str, object]
) -> ClusterSettings | SentinelSettings:
    """Check a cluster or sentinel URL (already split) and its options."""
    if scheme in CLUSTER_SCHEMES:
        return _cluster(scheme, parts, options)
    return _sentinel(scheme, parts, options)
