"""``{% stampede_cache %}`` (django_cache_bridge.templatetags.cache_bridge_stampede): a template
fragment rendered once for concurrent renders on Redis, Django's fragment keys, ``stale=``
stored in the envelope, and its mistakes reported as TemplateSyntaxError."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache.utils import make_template_fragment_key
from django.template import Context, Template, TemplateSyntaxError
from pytest_django import Settings as SettingsWrapper

from cache_bridge.stampede import unwrap
from tests.support.django_helpers import alias, bridge, stored

BOUND = 30


@pytest.fixture(autouse=True)
def site(settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis) -> Iterator[None]:
    settings.CACHES = {
        "default": alias(redis_url, KEY_PREFIX="frag"),
        "plain": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    yield
    bridge().clear()


class Expensive:
    """What the fragment renders: counts its renders, slowly."""

    def __init__(self) -> None:
        self.renders = 0
        self.guard = threading.Lock()

    def __str__(self) -> str:
        with self.guard:
            self.renders += 1
        time.sleep(0.2)
        return "rendered"


def _render(source: str, **context: Any) -> str:
    return Template("{% load cache_bridge_stampede %}" + source).render(Context(context))


def test_concurrent_renders_of_one_fragment_render_it_once() -> None:
    expensive = Expensive()
    source = "{% stampede_cache 60 sidebar user %}[{{ expensive }}]{% endstampede_cache %}"
    ready = threading.Barrier(10)
    pages: list[str] = []

    def render() -> None:
        ready.wait()
        pages.append(_render(source, expensive=expensive, user=7))

    threads = [threading.Thread(target=render) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert pages == ["[rendered]"] * 10
    assert expensive.renders == 1
    key = make_template_fragment_key("sidebar", [7])
    assert bridge().get(key) == "[rendered]"  # Django's fragment key, readable by get
    assert _render(source, expensive=expensive, user=8) == "[rendered]"
    assert expensive.renders == 2  # another vary value, another fragment


def test_stale_keeps_the_fragment_past_its_fresh_time() -> None:
    _render('{% stampede_cache 60 "menu" stale=600 %}menu{% endstampede_cache %}')
    data = stored(bridge(), make_template_fragment_key('"menu"'))
    assert data is not None
    envelope = unwrap(data)
    assert envelope is not None
    assert envelope.fresh_until is not None
    assert envelope.stale_until is not None
    assert round(envelope.stale_until - envelope.fresh_until) == 600


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% stampede_cache 60 %}x{% endstampede_cache %}", "at least two arguments"),
        ('{% stampede_cache "soon" f %}x{% endstampede_cache %}', "whole seconds"),
        ('{% stampede_cache 60 f using="nowhere" %}x{% endstampede_cache %}', "no cache alias"),
        ('{% stampede_cache 60 f using="plain" %}x{% endstampede_cache %}', "BridgeCache"),
        ("{% stampede_cache 60 f stale=1 stale=2 %}x{% endstampede_cache %}", "twice"),
    ],
)
def test_mistakes_are_template_syntax_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=message):
        _render(source)
