"""``bridge.memoize`` and ``bridge.delete_memoized`` on memory:// and the test-started Redis:
hit/miss counts with argument normalisation, methods and classmethods, async functions,
cache_none, unless, response_filter, deletion of one call and of every call (foreign keys
survive), the CLI runner outside a request, and Redis down (every call still answers)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import click
import pytest
from flask import Flask
from returns.result import Success

from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401


@pytest.fixture
def app(make_app: MakeApp, location: str) -> Flask:
    return make_app(
        CACHE_BRIDGE_URL=location,
        CACHE_BRIDGE_KEY_PREFIX=f"memo-{uuid.uuid4().hex[:8]}",
        SECRET_KEY="test-secret",
    )


def counted(bridge: CacheBridge, **options: Any) -> tuple[Callable[..., Any], list[Any]]:
    calls: list[Any] = []

    @bridge.memoize(60, name=f"add-{uuid.uuid4().hex}", **options)
    def add(a: int, b: int = 2, *rest: int, **extra: int) -> int:
        calls.append((a, b, rest, extra))
        return a + b + sum(rest) + sum(extra.values())

    return add, calls


def test_arguments_are_normalised(app: Flask, bridge: CacheBridge) -> None:
    add, calls = counted(bridge)
    with app.app_context():
        assert add(1, 2) == 3
        assert add(1, b=2) == 3
        assert add(a=1, b=2) == 3
        assert add(1) == 3  # b=2 is the default
        assert len(calls) == 1
        assert add(1, 3) == 4
        assert add(1, 2, 3) == 6
        assert add(1, 2, x=1, y=2) == add(1, 2, y=2, x=1) == 6
        assert len(calls) == 4


def test_delete_memoized_one_call_and_every_call(app: Flask, bridge: CacheBridge) -> None:
    add, calls = counted(bridge)
    other, other_calls = counted(bridge)
    with app.app_context():
        add(1, 2), add(5, 5), other(1, 2)
        bridge.cache.set("foreign", "kept")
        assert bridge.delete_memoized(add, 1, b=2) == Success(1)
        add(1, 2), add(5, 5)
        assert [c[:2] for c in calls] == [(1, 2), (5, 5), (1, 2)]
        assert isinstance(bridge.delete_memoized(add), Success)
        add(1, 2), add(5, 5), other(1, 2)
        assert len(calls) == 5
        assert len(other_calls) == 1  # another function's entries survive
        assert bridge.cache.get("foreign") == Success("kept")


class Repo:
    def __init__(self, label: str) -> None:
        self.label = label

    def __cache_key__(self) -> str:
        return self.label


def test_methods_and_classmethods(app: Flask, bridge: CacheBridge) -> None:
    calls: list[str] = []

    class Catalog:
        def __init__(self, label: str) -> None:
            self.label = label

        def __cache_key__(self) -> str:
            return self.label

        @bridge.memoize(60, name=f"catalog.price-{uuid.uuid4().hex}")
        def price(self, item: str) -> str:
            calls.append(f"{self.label}:{item}")
            return f"{self.label}:{item}"

        @bridge.memoize(60, name=f"catalog.scoped-{uuid.uuid4().hex}", key_self=True)
        def scoped(self, item: str) -> str:
            calls.append(f"scoped {self.label}:{item}")
            return f"{self.label}:{item}"

        @classmethod
        @bridge.memoize(60, name=f"catalog.make-{uuid.uuid4().hex}")
        def make(cls, item: str) -> str:
            calls.append(f"class {cls.__name__}:{item}")
            return item

    with app.app_context():
        a, b = Catalog("a"), Catalog("b")
        # Without key_self, instances share entries (keyed without the instance).
        assert a.price("x") == "a:x"
        assert b.price("x") == "a:x"
        assert a.scoped("x") == "a:x"
        assert b.scoped("x") == "b:x"
        assert a.scoped(item="x") == "a:x"
        assert Catalog.make("x") == Catalog.make(item="x") == "x"
        assert calls == ["a:x", "scoped a:x", "scoped b:x", "class Catalog:x"]
        assert bridge.delete_memoized(a.scoped, "x") == Success(1)
        assert bridge.delete_memoized(Catalog.price, "x") == Success(1)
        assert bridge.delete_memoized(Catalog.make, "x") == Success(1)
        b.price("x"), a.scoped("x"), b.scoped("x"), Catalog.make("x")
        assert calls[4:] == ["b:x", "scoped a:x", "class Catalog:x"]


def test_async_functions_get_an_async_wrapper(app: Flask, bridge: CacheBridge) -> None:
    calls: list[int] = []

    @bridge.memoize(60, name=f"double-{uuid.uuid4().hex}")
    async def double(n: int) -> int:
        calls.append(n)
        return n * 2

    @app.get("/double/<int:n>")
    async def view(n: int) -> str:
        return str(await double(n) + await double(n=n))

    client = app.test_client()
    assert client.get("/double/4").text == "16"
    assert client.get("/double/4").text == "16"
    with app.app_context():
        assert asyncio.run(double(4)) == 8
    assert calls == [4]


def test_cache_none_unless_and_response_filter(app: Flask, bridge: CacheBridge) -> None:
    runs: list[str] = []
    skip = [False]

    def make(**options: Any) -> Callable[[str], Any]:
        @bridge.memoize(60, name=f"f-{uuid.uuid4().hex}", **options)
        def f(word: str) -> Any:
            runs.append(word)
            return None if word == "none" else word

        return f

    plain, nones = make(), make(cache_none=True)
    unless = make(unless=lambda: skip[0])
    filtered = make(response_filter=lambda value: value != "no")
    with app.app_context():
        plain("none"), plain("none")
        assert runs == ["none", "none"]  # None is not cached by default
        nones("none"), nones("none")
        assert runs.count("none") == 3
        skip[0] = True
        unless("u"), unless("u")
        skip[0] = False
        unless("u"), unless("u")
        assert runs.count("u") == 3
        filtered("no"), filtered("no"), filtered("yes"), filtered("yes")
        assert runs.count("no") == 2
        assert runs.count("yes") == 1


def test_unkeyable_arguments_run_uncached_with_a_warning(
    app: Flask, bridge: CacheBridge, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[object] = []

    @bridge.memoize(60, name=f"thing-{uuid.uuid4().hex}")
    def thing(obj: object) -> int:
        runs.append(obj)
        return 1

    with app.app_context():
        marker = object()
        thing(marker), thing(marker)
        assert len(runs) == 2
        thing(Repo("r")), thing(Repo("r"))  # __cache_key__ makes it keyable
        assert len(runs) == 3
    assert "__cache_key__" in caplog.text


def test_refused_at_decoration(bridge: CacheBridge) -> None:
    with pytest.raises(ValueError, match="name="):
        bridge.memoize(60)(lambda: 1)
    with pytest.raises(ValueError, match="ttl"):
        bridge.memoize(0, name="x")(lambda: 1)
    with pytest.raises(ValueError, match="StampedeSettings"):
        bridge.memoize(60, name="x", stampede="lock")(lambda: 1)  # type: ignore[arg-type]


def test_the_cli_runner_uses_the_one_app(app: Flask, bridge: CacheBridge) -> None:
    add, calls = counted(bridge)

    @app.cli.command("total")
    @click.argument("n", type=int)
    def total(n: int) -> None:
        click.echo(str(add(n)))

    runner = app.test_cli_runner()
    assert runner.invoke(args=["total", "3"]).output == "5\n"
    assert runner.invoke(args=["total", "3"]).output == "5\n"
    assert len(calls) == 1
    with pytest.raises(RuntimeError, match="app_context"):
        add(3)  # outside any app context: which app's cache is unknown


def test_redis_down_every_call_still_answers(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(
        CACHE_BRIDGE_URL=f"redis://127.0.0.1:{free_port()}/0",
        CACHE_BRIDGE_OPTIONS={"connect_timeout": 0.2, "timeout": 0.2},
        SECRET_KEY="s",
    )
    add, calls = counted(bridge)

    @app.get("/add/<int:n>")
    def view(n: int) -> str:
        return str(add(n))

    client = app.test_client()
    assert client.get("/add/1").text == "3"
    assert client.get("/add/1").text == "3"
    assert len(calls) == 2
    with app.app_context():
        assert not isinstance(bridge.delete_memoized(add), Success)


def test_values_are_signed_with_the_secret_key(app: Flask, bridge: CacheBridge) -> None:
    add, _ = counted(bridge)
    app.config["SECRET_KEY"] = None
    with app.app_context(), pytest.raises(ValueError, match="SECRET_KEY"):
        add(1)


def test_a_computation_overtaken_by_delete_memoized_is_not_served(
    app: Flask, bridge: CacheBridge
) -> None:
    runs: list[int] = []

    @bridge.memoize(60, name=f"slow-{uuid.uuid4().hex}")
    def slow(n: int) -> int:
        runs.append(n)
        if len(runs) == 1:
            # Another worker invalidates while this computation runs: its value is stale.
            assert isinstance(bridge.delete_memoized(slow), Success)
        return len(runs)

    with app.app_context():
        assert slow(1) == 1  # answered, but stored under the old generation
        assert slow(1) == 2  # so not served: computed again
        assert slow(1) == 2
    assert runs == [1, 1]
