"""The cost one rate limit adds to a Flask and a Django request: ``bridge.limit`` /
``@ratelimit`` (RateLimit headers on and off) next to a hand-written hook doing one EVALSHA
on the same Redis, and the same for another checkout (``--before TREE``) in the same run.
Run by ``python bench/ratelimit_cost.py --frameworks``; prints a table, asserts nothing."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

ROUNDS = 9
N = 300
#: Interleaved passes over the cases within a round; a case's time is its fastest pass (the
#: least disturbed by other processes on a shared machine).
PASSES = 3
_HOOK_LUA = (
    "local c = redis.call('INCR', KEYS[1]) "
    "if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return c"
)


def _median_us(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    for _ in range(N):
        fn()
    return (time.perf_counter() - start) / N * 1e6


def _flask_cases(url: str) -> dict[str, Callable[[], Any]]:
    import redis
    from flask import Flask, request

    from flask_cache_bridge import CacheBridge

    def app(name: str) -> Flask:
        made = Flask(name)
        made.config["TESTING"] = True
        return made

    plain = app("plain")
    plain.add_url_rule("/", "view", lambda: "ok")
    hook = app("hook")
    client = redis.Redis.from_url(url)
    script = client.register_script(_HOOK_LUA)

    @hook.before_request
    def one_evalsha() -> None:
        script(keys=[f"hook:{request.remote_addr}"], args=[3_600_000])

    hook.add_url_rule("/", "view", lambda: "ok")
    cases = {"none": plain, "hook (1 EVALSHA)": hook}
    for headers in (True, False):
        ours = app(f"ours{headers}")
        ours.config["CACHE_BRIDGE_URL"] = url
        ours.config["CACHE_BRIDGE_RATELIMIT"] = {"HEADERS": headers}
        bridge = CacheBridge(ours)
        ours.add_url_rule("/", "view", bridge.limit("1000000/hour")(lambda: "ok"))
        cases[f"bridge.limit, headers {'on' if headers else 'off'}"] = ours
    return {name: _getter(made.test_client()) for name, made in cases.items()}


def _getter(client: Any) -> Callable[[], Any]:
    def call() -> None:
        if client.get("/").status_code != 200:
            raise RuntimeError("the bench view did not answer 200")

    return call


def _django_cases(url: str) -> dict[str, Callable[[], Any]]:
    import django
    import redis
    from django.conf import settings
    from django.http import HttpResponse
    from django.test import Client
    from django.urls import path

    from django_cache_bridge.ratelimit import ratelimit

    client = redis.Redis.from_url(url)
    script = client.register_script(_HOOK_LUA)

    def plain(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    def hooked(request: Any) -> HttpResponse:
        script(keys=[f"hook:{request.META.get('REMOTE_ADDR')}"], args=[3_600_000])
        return HttpResponse("ok")

    module = type(sys)("bench_rl_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("none/", plain),
        path("hook/", hooked),
        path("ours/", ratelimit("1000000/h", name="bench")(plain)),
        path("quiet/", ratelimit("1000000/h", name="bench-quiet", headers=False)(plain)),
    ]
    sys.modules["bench_rl_urls"] = module
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="bench_rl_urls",
        MIDDLEWARE=[],
        INSTALLED_APPS=["django_cache_bridge"],
        CACHES={
            "default": {
                "BACKEND": "django_cache_bridge.cache.BridgeCache",
                "LOCATION": url,
                "KEY_PREFIX": "bench",
            }
        },
    )
    django.setup()
    test_client = Client()

    def get(where: str) -> Callable[[], Any]:
        def call() -> None:
            if test_client.get(where).status_code != 200:
                raise RuntimeError(f"{where} did not answer 200")

        return call

    return {
        "none": get("/none/"),
        "hook (1 EVALSHA)": get("/hook/"),
        "@ratelimit, headers on": get("/ours/"),
        "@ratelimit, headers off": get("/quiet/"),
    }


def measure(url: str) -> dict[str, float]:
    """One round: microseconds per request of every case (prefixed by framework)."""
    everything = {
        f"{framework}: {name}": fn
        for framework, cases in (("Flask", _flask_cases(url)), ("Django", _django_cases(url)))
        for name, fn in cases.items()
    }
    for fn in everything.values():
        fn()  # warm up (script load, limiter built)
    passes = [{case: _median_us(fn) for case, fn in everything.items()} for _ in range(PASSES)]
    return {case: min(p[case] for p in passes) for case in everything}


def _child(url: str) -> None:
    print(json.dumps(measure(url)))


def _round(tree: str, url: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{tree}:{tree}/integrations"}
    code = (
        f"import sys; sys.path[:0] = [{tree!r}]; "
        f"from bench.ratelimit_frameworks import _child; _child({url!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> None:
    from pathlib import Path

    from cache_bridge.testing import RedisServer

    here = str(Path(__file__).resolve().parents[1])
    before = argv[argv.index("--before") + 1] if "--before" in argv else None
    if before is not None:  # the other checkout must have this bench too
        target = Path(before) / "bench" / "ratelimit_frameworks.py"
        if not target.exists():
            target.write_text(Path(__file__).read_text())
    trees = {"this": here, **({"before": before} if before else {})}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with RedisServer() as server:
        for _ in range(ROUNDS):  # paired rounds: the trees alternate on the same server
            for name, tree in trees.items():
                rounds[name].append(_round(tree, server.url))
    medians = {
        name: {case: statistics.median(r[case] for r in found) for case in found[0]}
        for name, found in rounds.items()
    }
    _print(medians)


def _print(medians: dict[str, dict[str, float]]) -> None:
    print(
        f"\nus per request, median of {ROUNDS} paired rounds (each the fastest of {PASSES} "
        f"interleaved passes x {N} requests; test clients)"
    )
    names = list(medians)
    print(f"{'case':44}" + "".join(f"{n:>10} {'added':>8} {'/hook':>6}" for n in names))
    for case in medians[names[0]]:
        framework = case.split(":")[0]
        row = f"{case:44}"
        for name in names:
            m = medians[name]
            added = m[case] - m[f"{framework}: none"]
            hook = m[f"{framework}: hook (1 EVALSHA)"] - m[f"{framework}: none"]
            row += f"{m[case]:10.1f} {added:8.1f} {added / hook if hook > 0 else 0:6.2f}"
        print(row)
    if len(names) == 2:
        print("\nthis / before, added cost per request:")
        for case in medians[names[0]]:
            framework = case.split(":")[0]
            if case.endswith(": none"):
                continue
            a = medians["this"][case] - medians["this"][f"{framework}: none"]
            b = medians["before"][case] - medians["before"][f"{framework}: none"]
            print(f"  {case:44} {a / b if b > 0 else 0:6.2f}")
