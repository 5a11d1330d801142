"""Template fragment caching: ``{% cache ttl, "name", var1, var2 %}...{% endcache %}``.

``init_app`` adds :class:`FragmentCache` to the app's Jinja environment. The rendered body is
stored under ``frag:NAME:HASH`` in the app's namespace (``HASH`` covers the vary values,
encoded canonically: ``("a_b",)`` and ``("a", "b")`` are two entries), through the app's value
codec (signed). ``ttl`` None means ``CACHE_BRIDGE_DEFAULT_TTL``; 0 renders without caching.
The name is required: a key from the template's file and line would change with every edit.
When the cache fails the body renders (fail-open, logged once per burst), in debug too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Flask, current_app, has_app_context
from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.ext import Extension
from jinja2.parser import Parser
from returns.result import Failure, Success

from cache_bridge import MAX_TTL
from cache_bridge.engine import bytes_operations as ops
from cache_bridge.values import MISSING
from cache_bridge.values.call_keys import Unkeyable, call_digest
from flask_cache_bridge.state import EXTENSION_KEY, AppCache

__all__ = ["FRAGMENT_NAMESPACE", "FragmentCache", "fragment_key", "fragment_pattern", "install"]

FRAGMENT_NAMESPACE = "frag:"


def _name_part(name: str) -> str:
    return quote(name, safe="._-")


def fragment_key(name: str, vary: tuple[Any, ...]) -> str:
    """The key of the fragment ``name`` for the ``vary`` values (``Unkeyable`` if one has no
    canonical encoding)."""
    return f"{FRAGMENT_NAMESPACE}{_name_part(name)}:{call_digest({'vary': list(vary)})}"


def fragment_pattern(name: str) -> str:
    """The glob of every variant of the fragment ``name``."""
    return f"{FRAGMENT_NAMESPACE}{_name_part(name)}:*"


class FragmentCache(Extension):
    """The ``{% cache %}`` tag."""

    tags = {"cache"}  # noqa: RUF012 (Jinja's declared class attribute)

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        ttl = parser.parse_expression()
        if not parser.stream.skip_if("comma"):
            raise TemplateSyntaxError(
                '{% cache %} needs a name after the ttl: {% cache 300, "sidebar", user.id %} '
                "(a key from the file and line would change with every edit of the template)",
                lineno,
                parser.name,
                parser.filename,
            )
        name = parser.parse_expression()
        vary = []
        while parser.stream.skip_if("comma"):
            vary.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        call = self.call_method("render_fragment", [ttl, name, nodes.List(vary)])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def render_fragment(
        self, ttl: Any, name: Any, vary: list[Any], caller: Callable[[], str]
    ) -> str:
        """The fragment's body: from the cache, or rendered (and stored)."""
        state = current_app.extensions.get(EXTENSION_KEY) if has_app_context() else None
        if ttl == 0 or not isinstance(state, AppCache):
            return caller()
        key = _checked_key(ttl, name, vary)
        full = state.cache.keyspace.key(key)
        match state.cache.run_operation(ops.get_bytes(state.cache.keyspace, key)):
            case Success(None):
                state.failures.recovered()
            case Success(data):
                state.failures.recovered()
                body = state.codec.loads(full, data)
                if isinstance(body, str) and body is not MISSING:
                    return body
            case Failure(error):
                state.failed(error, "the fragment renders uncached")
                return caller()
        body = caller()
        ttl_ms = (ttl or state.settings.default_ttl) * 1000
        done = state.cache.run_operation(
            ops.set_bytes(state.cache.keyspace, key, state.codec.dumps(full, body), ttl_ms)
        )
        if isinstance(done, Failure):
            state.failed(done.failure(), "the fragment is not cached")
        return body


def _checked_key(ttl: Any, name: Any, vary: list[Any]) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"the name of a {{% cache %}} fragment must be a str, not {name!r}")
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_TTL
    ):
        raise TypeError(f"the ttl of {{% cache %}} must be None or seconds, not {ttl!r}")
    try:
        return fragment_key(name, tuple(vary))
    except Unkeyable as exc:
        raise TypeError(f"{{% cache %}} {name!r}: {exc}") from None


def install(app: Flask) -> None:
    """Add :class:`FragmentCache` to ``app``'s Jinja environment, without creating the
    environment early when it does not exist yet."""
    if "jinja_env" in vars(app):
        app.jinja_env.add_extension(FragmentCache)
        return
    options = dict(app.jinja_options)
    options["extensions"] = [*options.get("extensions", ()), FragmentCache]
    app.jinja_options = options
