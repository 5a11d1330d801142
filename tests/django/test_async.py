"""The async API runs natively on the async adapter, under ASGI and under WSGI async views."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import alias, bridge


@pytest.fixture
def dj(settings: SettingsWrapper, location: str) -> Iterator[BridgeCache]:
    settings.CACHES = {"default": alias(location, KEY_PREFIX="async")}
    yield bridge()
    bridge().clear()


class Spy:
    """Counts the operations each face of the shared adapters runs."""

    def __init__(self, cache: BridgeCache, monkeypatch: pytest.MonkeyPatch) -> None:
        adapters = cache.adapters()
        self.sync: list[str] = []
        self.async_: list[str] = []
        sync_run, async_run = adapters.sync.run_operation, adapters.async_.run_operation

        def sync_spy(op: Any) -> Any:
            self.sync.append(op.name)
            return sync_run(op)

        async def async_spy(op: Any) -> Any:
            self.async_.append(op.name)
            return await async_run(op)

        monkeypatch.setattr(adapters.sync, "run_operation", sync_spy)
        monkeypatch.setattr(adapters.async_, "run_operation", async_spy)


async def test_every_async_method_runs_on_the_async_adapter(
    dj: BridgeCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(dj, monkeypatch)
    assert await dj.aadd("k", 1) is True
    assert await dj.aadd("k", 2) is False
    assert await dj.aget("k") == 1
    await dj.aset("s", "text", timeout=60)
    assert await dj.atouch("s", timeout=None) is True
    assert await dj.aincr("k", 5) == 6
    assert await dj.adecr("k") == 5
    with pytest.raises(ValueError, match="not found"):
        await dj.aincr("missing")
    assert await dj.aset_many({"a": 1, "b": [2]}) == []
    assert await dj.aget_many(["a", "b", "nope"]) == {"a": 1, "b": [2]}
    assert await dj.ahas_key("a") is True
    await dj.adelete_many(["a", "b"])
    assert await dj.adelete("s") is True
    assert await dj.aget_or_set("g", "made") == "made"
    assert await dj.aincr_version("g") == 2
    assert await dj.aget("g", version=2) == "made"
    await dj.aclear()
    assert await dj.aget("k") is None
    await dj.aclose()
    assert spy.sync == []
    assert {"add", "get", "set", "touch", "increment", "get_many", "set_many"} <= set(spy.async_)
    assert {"has_key", "delete_many", "delete", "delete_pattern"} <= set(spy.async_)


async def test_concurrent_async_increments_are_exact(dj: BridgeCache) -> None:
    await dj.aset("n", 0)
    await asyncio.gather(*(dj.aincr("n") for _ in range(200)))
    assert await dj.aget("n") == 200


def test_async_calls_from_fresh_event_loops_share_one_alias(dj: BridgeCache) -> None:
    # What Django does for async views under WSGI: a new loop per request.
    for _ in range(5):
        asyncio.run(dj.aset("k", "v"))
        assert asyncio.run(dj.aget("k")) == "v"
    assert dj.get("k") == "v"


def test_async_views_under_wsgi(dj: BridgeCache) -> None:
    client = Client()
    for expected in (1, 2, 3):
        response = client.get("/async-counter/")
        assert response.status_code == 200
        assert json.loads(response.content) == {"hits": expected, "last": {"hits": expected}}
    assert client.get("/sync-counter/").json() == {"hits": 4}
    assert client.get("/async-protocol/").json() == {"hits": 1}
    assert client.get("/async-protocol/").json() == {"hits": 2}
    assert dj.get("hits") == 4


async def test_async_views_under_asgi(dj: BridgeCache) -> None:
    client = AsyncClient()
    for expected in (1, 2, 3):
        response = await client.get("/async-counter/")
        assert response.status_code == 200
        assert json.loads(response.content)["hits"] == expected
    response = await client.get("/async-protocol/")
    assert json.loads(response.content) == {"hits": 1}
    assert await dj.aget("hits") == 3
