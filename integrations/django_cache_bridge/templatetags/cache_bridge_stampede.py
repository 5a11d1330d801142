"""``{% stampede_cache %}``: Django's ``{% cache %}`` fragment tag with stampede protection.

::

    {% load cache_bridge_stampede %}
    {% stampede_cache 300 sidebar request.user.id using="default" stale=600 %}
        .. expensive rendering ..
    {% endstampede_cache %}

Same arguments as ``{% cache %}`` (a timeout in seconds or ``None``, a fragment name, values to
vary on, ``using="alias"``; the key is Django's ``make_template_fragment_key``), plus
``stale=SECONDS`` for stale-while-revalidate. The alias must be a BridgeCache; the fragment is
rendered once per key across processes (see docs/stampede.md).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.utils import make_template_fragment_key
from django.template.base import FilterExpression, NodeList, Parser, Token

from cache_bridge.stampede import StampedeSettings
from django_cache_bridge.cache import BridgeCache

register = template.Library()


def _resolved(expression: FilterExpression, context: template.Context, what: str) -> Any:
    try:
        return expression.resolve(context)
    except template.VariableDoesNotExist:
        raise template.TemplateSyntaxError(
            f'"stampede_cache" got an unknown variable for {what}: {expression.var!r}'
        ) from None


def _seconds(value: Any, what: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise template.TemplateSyntaxError(
            f'"stampede_cache" needs whole seconds for {what}, not {value!r}'
        ) from None


class StampedeCacheNode(template.Node):
    """One ``{% stampede_cache %}`` block."""

    def __init__(
        self,
        nodelist: NodeList,
        timeout: FilterExpression,
        name: str,
        vary_on: list[FilterExpression],
        options: dict[str, FilterExpression],
    ) -> None:
        self.nodelist = nodelist
        self.timeout = timeout
        self.name = name
        self.vary_on = vary_on
        self.options = options

    def _cache(self, context: template.Context) -> BridgeCache:
        if "using" in self.options:
            alias = _resolved(self.options["using"], context, "using")
            try:
                found = caches[alias]
            except InvalidCacheBackendError:
                raise template.TemplateSyntaxError(
                    f'"stampede_cache" names no cache alias {alias!r}'
                ) from None
        else:  # as {% cache %}: "template_fragments" if there is one, else "default"
            try:
                alias, found = "template_fragments", caches["template_fragments"]
            except InvalidCacheBackendError:
                alias, found = "default", caches["default"]
        if not isinstance(found, BridgeCache):
            raise template.TemplateSyntaxError(
                f'"stampede_cache" needs a BridgeCache alias; {alias!r} is '
                f"{type(found).__name__}: use {{% cache %}} there"
            )
        return found

    def render(self, context: template.Context) -> str:
        timeout = _seconds(_resolved(self.timeout, context, "the timeout"), "the timeout")
        stale = self.options.get("stale")
        stale_ttl = _seconds(_resolved(stale, context, "stale"), "stale") if stale else None
        settings = StampedeSettings(stale_ttl=stale_ttl or 0)
        key = make_template_fragment_key(self.name, [v.resolve(context) for v in self.vary_on])
        rendered = self._cache(context).get_or_set(
            key, lambda: self.nodelist.render(context), timeout, stampede=settings
        )
        return str(rendered)


@register.tag("stampede_cache")
def stampede_cache(parser: Parser, token: Token) -> StampedeCacheNode:
    """``{% stampede_cache TIMEOUT NAME [VARY ...] [using="alias"] [stale=SECONDS] %}``."""
    nodelist = parser.parse(("endstampede_cache",))
    parser.delete_first_token()
    bits = token.split_contents()
    options: dict[str, FilterExpression] = {}
    while len(bits) > 3 and bits[-1].split("=", 1)[0] in ("using", "stale"):
        option, _, value = bits.pop().partition("=")
        if option in options:
            raise template.TemplateSyntaxError(f'"stampede_cache" got {option}= twice')
        options[option] = parser.compile_filter(value)
    if len(bits) < 3:
        raise template.TemplateSyntaxError(
            '"stampede_cache" takes at least two arguments: a timeout and a fragment name'
        )
    return StampedeCacheNode(
        nodelist,
        parser.compile_filter(bits[1]),
        bits[2],
        [parser.compile_filter(bit) for bit in bits[3:]],
        options,
    )
