"""Cache URLs taken apart: scheme, credentials, hosts and the options in the query string.

Messages never quote a part of a URL that may hold a password.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cache_bridge.config.options import Spec, check_options
from cache_bridge.errors import ConfigurationError

__all__ = [
    "credentials",
    "hosts_text",
    "merge_options",
    "one_prefix",
    "query_options",
    "split_hosts",
    "split_url",
    "url_options",
]


def split_url(url: object, schemes: Mapping[str, object]) -> tuple[str, Any]:
    """``url``'s scheme (lower case, one of ``schemes``) and its ``urlsplit`` parts."""
    if not isinstance(url, str):
        raise ConfigurationError(f"the cache URL must be a str, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError:
        # Not urlsplit's message: it quotes the part it choked on, which may be a password.
        raise ConfigurationError(
            "malformed cache URL: check the host (IPv6 addresses go in [brackets]) and "
            "percent-encode special characters in the user name and password (%5B for '[')"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise ConfigurationError(
            f"unsupported cache URL scheme {parts.scheme!r}; "
            "use memory://, redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://"
        )
    return scheme, parts


def query_options(parts: Any) -> dict[str, str]:
    """The query string's ``name=value`` pairs; a name given twice is a mistake."""
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        # Not parse_qsl's message: it quotes the field, which may be the rest of a password.
        raise ConfigurationError(
            "malformed query string in the cache URL: write name=value pairs joined by '&', "
            "and percent-encode '&', '=' and '#' inside a value (a password: %26, %3D, %23)"
        ) from None
    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query:
            raise ConfigurationError(f"option {name!r} is given twice in the cache URL")
        query[name] = value
    return query


def url_options(scheme: str, spec: Spec, parts: Any) -> dict[str, str]:
    """The options in the query string of a Redis-family URL (``parts`` from ``urlsplit``),
    checked against ``spec`` before anything is shown of them when the URL holds credentials:
    a bad option there may be a password's tail cut off at an unescaped '?', '&' or '#'."""
    query = query_options(parts)
    if "@" in parts.geturl() or "password" in query or "sentinel_password" in query:
        try:
            check_options(scheme, spec, query)
        except ConfigurationError:
            raise ConfigurationError(
                "an option in the cache URL's query string is unknown or invalid; it is not "
                "shown because the URL holds credentials: percent-encode '?', '&', '#' and '/' "
                "in a password (%3F, %26, %23, %2F)"
            ) from None
    return query


def one_prefix(from_url: object, given: object, given_as: str) -> None:
    """Raise unless the URL's ``key_prefix`` and one given elsewhere agree (or one is absent).
    The message shows the value given elsewhere only: the URL's may be the tail of a password
    cut off at an unescaped '?'."""
    if from_url in (None, "") or given in (None, "") or from_url == given:
        return
    raise ConfigurationError(
        f"the cache URL's ?key_prefix= and {given_as} ({given!r}) differ: a cache has one "
        "namespace, so give the prefix in one place (or the same in both)"
    )


def merge_options(
    query: Mapping[str, object],
    options: Mapping[str, object],
    base: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """``base`` (parts of the URL), then the URL's query options, then keyword ``options``:
    later ones win, except that a ``key_prefix`` in both the query and the keywords must be
    the same (:class:`ConfigurationError` otherwise)."""
    one_prefix(query.get("key_prefix"), options.get("key_prefix"), "the key_prefix option")
    return {**(base or {}), **query, **options}


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def hosts_text(hosts: tuple[tuple[str, int], ...]) -> str:
    """``host:port,...`` with IPv6 hosts in brackets."""
    return ",".join(f"{_host(h)}:{p}" for h, p in hosts)


def split_hosts(scheme: str, text: str, default_port: int) -> tuple[tuple[str, int], ...]:
    """The ``host:port`` list of a cluster or sentinel URL."""
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


def credentials(userinfo: str) -> dict[str, object]:
    """``username`` / ``password`` options from a URL's ``user:password`` part."""
    if not userinfo:
        return {}
    user, colon, password = userinfo.partition(":")
    given: dict[str, object] = {}
    if user:
        given["username"] = unquote(user)
    if colon:
        given["password"] = unquote(password)
    return given
