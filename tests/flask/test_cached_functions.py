"""``@bridge.cached`` on plain functions: a value cached per call (as memoize), ``key=``,
``unless=`` (with or without the call's arguments), ``response_filter=``, ``source_check``;
and a cached view called directly from another view is cached as a value, not a response."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401


@pytest.fixture
def app(make_app: MakeApp, location: str) -> Flask:
    return make_app(
        CACHE_BRIDGE_URL=location,
        CACHE_BRIDGE_KEY_PREFIX=f"fn-{uuid.uuid4().hex[:8]}",
        SECRET_KEY="test-secret",
    )


def test_a_plain_function_is_cached_per_call(app: Flask, bridge: CacheBridge) -> None:
    runs: list[int] = []

    @bridge.cached(60)
    def square(n: int) -> int:
        runs.append(n)
        return n * n

    with app.app_context():
        assert [square(3), square(n=3), square(4)] == [9, 9, 16]
    assert runs == [3, 4]


def test_key_unless_and_response_filter(app: Flask, bridge: CacheBridge) -> None:
    runs: list[str] = []

    @bridge.cached(60, key=lambda user, page: f"user:{user}")
    def profile(user: str, page: int) -> str:
        runs.append(f"{user}/{page}")
        return f"{user} page {page}"

    @bridge.cached(60, unless=lambda f, word: word.startswith("!"))
    def shout(word: str) -> str:
        runs.append(word)
        return word.upper()

    @bridge.cached(60, response_filter=lambda value: value is not None and value > 0)
    def positive(n: int) -> int:
        runs.append(f"n={n}")
        return n

    with app.app_context():
        assert profile("ada", 1) == profile("ada", 2) == "ada page 1"  # one key per user
        shout("!hey"), shout("!hey"), shout("hi"), shout("hi")
        positive(-1), positive(-1), positive(1), positive(1)
    assert runs == ["ada/1", "!hey", "!hey", "hi", "n=-1", "n=-1", "n=1"]


def _load(tmp_path: Path, name: str, body: str) -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(body, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_source_check_changes_the_entry_when_the_code_changes(
    app: Flask, bridge: CacheBridge, tmp_path: Path
) -> None:
    def version(answer: int) -> Any:
        body = f"def compute(n):\n    RUNS.append(n)\n    return n + {answer}\n"
        module = _load(tmp_path, f"mod_{uuid.uuid4().hex}", "RUNS = []\n" + body)
        return module, bridge.cached(60, source_check=True, name="shared.compute")(module.compute)

    (first, compute), (second, changed) = version(1), version(2)
    with app.app_context():
        assert compute(1) == compute(1) == 2
        assert changed(1) == 3  # same name, new code: a new entry, not the old value
    assert first.RUNS == [1]
    assert second.RUNS == [1]


def test_a_view_called_from_another_view_is_cached_as_a_value(
    app: Flask, bridge: CacheBridge
) -> None:
    runs: list[str] = []

    @app.get("/inner")
    @bridge.cached(60)
    def inner() -> str:
        runs.append("inner")
        return "inner body"

    @app.get("/outer")
    def outer() -> str:
        return f"outer around {inner()}"

    client = app.test_client()
    assert client.get("/outer").text == "outer around inner body"
    assert client.get("/outer").text == "outer around inner body"
    assert client.get("/inner").text == "inner body"  # the view's own entry: a response
    assert client.get("/inner").text == "inner body"
    assert runs == ["inner", "inner"]
