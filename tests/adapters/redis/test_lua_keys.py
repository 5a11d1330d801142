"""Every Lua script the adapters send touches only the keys it declares in ``KEYS[]``, as
servers that require it demand (Dragonfly refuses undeclared keys by default; a Redis Cluster
needs them to route).

Two checks. Statically, every ``redis.call`` in every script of the package (the ``.lua`` files
the adapters load, and no script left in Python source) names its key as ``KEYS[...]``.
Dynamically, each script runs, on every path it has, as an ACL user allowed only the keys that
call declares: an undeclared key would be refused with NOPERM. Both run on whichever server the
suite uses (Redis and, in make test's second pass, Valkey)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import cache_bridge
from cache_bridge.adapters.redis.lua import load
from cache_bridge.adapters.redis.plan import plan
from cache_bridge.adapters.redis_cluster.routing import PerSlot, route
from cache_bridge.engine.commands import (
    CompareAndDelete,
    CompareAndExpire,
    IncrByIfExists,
    LimitEntry,
    RateLimitHit,
    RateLimitRefund,
    SetManyBytes,
    Touch,
)
from cache_bridge.testing import RedisServer

pytestmark = pytest.mark.redis

PACKAGE = Path(cache_bridge.__file__).parent
#: Commands a script may call without a key.
KEYLESS = {"TIME"}
_CALL = re.compile(r"redis\.p?call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?")


def package_scripts() -> dict[str, str]:
    """Every Lua script in the package, as the adapters send it: the ``.lua`` files."""
    return {
        load(path.stem): str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.lua"))
    }


def python_scripts() -> dict[str, str]:
    """Lua scripts written as string constants in the package's Python source."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.search(r"redis\.p?call\(", node.value)
            ):
                found[node.value] = f"{path.relative_to(PACKAGE)}:{node.lineno}"
    return found


def test_the_package_has_the_scripts_this_test_knows() -> None:
    places = sorted(package_scripts().values())
    assert places == [
        "adapters/redis/lua/incr_if_exists.lua",
        "adapters/redis/lua/lock_extend.lua",
        "adapters/redis/lua/lock_release.lua",
        "adapters/redis/lua/rate_limit.lua",
        "adapters/redis/lua/rate_limit_refund.lua",
        "adapters/redis/lua/set_all_with_expiry.lua",
        "adapters/redis/lua/touch.lua",
    ]
    assert python_scripts() == {}  # every script is a .lua file, checked here


@pytest.mark.parametrize("script", list(package_scripts()), ids=package_scripts().get)
def test_every_call_in_a_script_names_its_key_from_keys(script: str) -> None:
    calls = _CALL.findall(script)
    assert calls, "no redis.call found"
    for command, first in calls:
        if command.upper() in KEYLESS:
            continue
        assert re.fullmatch(r"KEYS\[[^\]]+\]", first.strip()), (command, first)


# -- run as a user who may touch only the declared keys -----------------------------------------


def _evals() -> list[tuple[str, tuple[Any, ...]]]:
    """Every EVAL the adapters send, with arguments that walk each script's branches."""
    cases: list[tuple[str, Any]] = [
        ("touch, with a ttl", plan(Touch("t", 60_000))),
        ("touch, persist", plan(Touch("t", None))),
        ("increment_existing", plan(IncrByIfExists("n", 2))),
        ("lock release", plan(CompareAndDelete("lock", b"5"))),
        ("lock extend", plan(CompareAndExpire("lock", b"5", 1_000, add=True))),
        ("lock reacquire", plan(CompareAndExpire("lock", b"5", 1_000))),
    ]
    for algorithm in ("fixed-window", "sliding-window", "token-bucket"):
        for now in (None, 1_700_000_000_000):
            label = f"rate limit {algorithm}, {'server' if now is None else 'caller'} clock"
            one = LimitEntry(f"rl:{algorithm}", algorithm, 2, 60_000, now)
            other = LimitEntry(f"rl:{algorithm}:hour", algorithm, 5, 3_600_000, now)
            cases.append((label, plan(RateLimitHit((one,)))))
            cases.append((f"{label}, a group of two", plan(RateLimitHit((one, other)))))
        counted = LimitEntry(f"rl:{algorithm}", algorithm, 2, 60_000, 1_700_000_000_000)
        cases.append((f"rate limit refund {algorithm}", plan(RateLimitRefund((counted,)))))
    sets = route(SetManyBytes((("{s}a", b"1"), ("{s}b", b"2")), 5_000))
    assert isinstance(sets, PerSlot)
    cases.extend(("cluster set_many with expiry", args) for _, args in sets.commands)
    for label, args in cases:
        assert isinstance(args, tuple), label
        assert args[0] == "EVAL", label
    return [(label, args) for label, args in cases if isinstance(args, tuple)]


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as started:
        yield started


def _as_user_of(server: RedisServer, keys: list[str]) -> redis.Redis:
    admin = redis.Redis.from_url(server.url)
    admin.acl_setuser(
        "declared",
        enabled=True,
        reset_keys=True,
        passwords=["+declared-only"],
        keys=[re.sub(r"([*?\[\]\\])", r"\\\1", key) for key in keys],
        commands=["+@all"],
    )
    admin.close()
    return redis.Redis(
        host="127.0.0.1", port=server.port, username="declared", password="declared-only"
    )


def test_the_acl_check_refuses_an_undeclared_key(server: RedisServer) -> None:
    # The control: without it, the test below could pass by checking nothing.
    client = _as_user_of(server, ["declared"])
    with pytest.raises(redis.exceptions.ResponseError, match=r"NOPERM|can't access|No permissions"):
        client.eval("return redis.call('GET', 'undeclared')", 1, "declared")
    assert client.eval("return redis.call('GET', KEYS[1])", 1, "declared") is None
    client.close()


@pytest.mark.parametrize(("label", "args"), _evals(), ids=[label for label, _ in _evals()])
def test_each_script_touches_only_its_declared_keys(
    server: RedisServer, label: str, args: tuple[Any, ...]
) -> None:
    count = int(args[2])
    keys = [str(key) for key in args[3 : 3 + count]]
    admin = redis.Redis.from_url(server.url)
    admin.flushdb()
    client = _as_user_of(server, keys)
    try:
        # Each branch: the keys missing, then present (set by the first run or by hand), then
        # again (a rate limit denies once its limit of 2 is reached).
        _, script, _, *keys_and_args = args
        client.eval(script, count, *keys_and_args)
        for key in keys:
            if not admin.exists(key):
                admin.set(key, 5)
        client.eval(script, count, *keys_and_args)
        client.eval(script, count, *keys_and_args)
    finally:
        client.close()
        admin.close()
    assert package_scripts().get(args[1]), f"{label}: a script this test does not scan"
