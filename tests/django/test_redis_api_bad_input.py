"""Bad input to BridgeCache's django-redis methods on every store: a clear exception, nothing
written, and no line in the outage log (the cache is fine; the call is wrong)."""

# ruff: noqa: F811 (the fixtures imported from every_store)

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from django_cache_bridge.cache import BridgeCache
from tests.django.every_store import dj, location_memory, where  # noqa: F401 (fixtures)

WRONG_KIND: dict[str, Callable[[BridgeCache], Any]] = {
    "sadd on a value": lambda dj: dj.sadd("value", "x"),
    "smembers of a value": lambda dj: dj.smembers("value"),
    "hset on a set": lambda dj: dj.hset("set", "field", 1),
    "hget on a set": lambda dj: dj.hget("set", "field"),
    "scard of a hash": lambda dj: dj.scard("hash"),
    "incr of a set": lambda dj: dj.incr("set"),
}


@pytest.fixture
def filled(dj: BridgeCache) -> BridgeCache:
    dj.set("value", 1)
    dj.sadd("set", "member")
    dj.hset("hash", "field", 2)
    return dj


def _unchanged(dj: BridgeCache) -> None:
    assert dj.get("value") == 1
    assert dj.smembers("set") == {"member"}
    assert dj.hget("hash", "field") == 2


@pytest.mark.parametrize("call", WRONG_KIND.values(), ids=list(WRONG_KIND))
def test_a_key_of_another_kind_is_a_type_error(
    filled: BridgeCache, call: Callable[[BridgeCache], Any], caplog: pytest.LogCaptureFixture
) -> None:
    # django-redis raises redis-py's WRONGTYPE error; failing open here would read a set as
    # empty and write nothing while saying "0 added", and log an outage that is not one.
    with caplog.at_level(logging.WARNING), pytest.raises(TypeError, match="holds another kind"):
        call(filled)
    _unchanged(filled)
    assert caplog.records == []


def test_the_async_forms_raise_the_same(filled: BridgeCache) -> None:
    import asyncio

    with pytest.raises(TypeError, match="holds another kind"):
        asyncio.run(filled.asadd("value", "x"))
    with pytest.raises(TypeError, match="holds another kind"):
        asyncio.run(filled.aincr("set"))
    _unchanged(filled)


def test_a_negative_pop_count_is_a_value_error(
    filled: BridgeCache, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(ValueError, match="count"):
        filled.spop("set", -1)
    with pytest.raises(TypeError, match="count"):
        filled.spop("set", "2")
    assert filled.srandmember("set", -2) == ["member", "member"]  # Redis: may repeat
    _unchanged(filled)
    assert caplog.records == []
