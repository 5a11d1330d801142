"""The cost one rate limit adds to a Flask and a Django request: ``bridge.limit`` /
``@ratelimit`` (RateLimit headers on and off), and three stacked limits, next to a
hand-written hook doing one EVALSHA on the same Redis (in Flask, the baseline and the hook
apps carry ``CacheBridge`` too, without limits), and the same for another checkout
(``--before TREE``) in the same run. Goals (issue 15): one limit at most 1.15x the hook's
added cost, three stacked at most 1.3x. Run by ``python bench/ratelimit_cost.py
--frameworks``; prints a table, asserts nothing."""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

ROUNDS = int(os.environ.get("BENCH_RL_ROUNDS", "9"))
N = 300
#: Interleaved passes over the cases within a round; a case's time is its fastest pass (the
#: least disturbed by other processes on a shared machine).
PASSES = 3
#: The hand-written hook every rate-limit bench compares with: INCR, PEXPIRE on a new key.
HOOK_LUA = (
    "local c = redis.call('INCR', KEYS[1]) "
    "if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return c"
)


def _median_us(fn: Callable[[], Any], server: Any = None) -> tuple[float, float, float]:
    """Wall-clock microseconds per call, and the CPU microseconds spent on it: this
    process's (``process_time``) plus the server's (``INFO commandstats``). The CPU figure is
    far less disturbed by other processes on a shared machine than the wall clock."""
    if server is not None:
        server.config_resetstat()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(N):
        fn()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    served = 0.0
    if server is not None:
        stats = server.info("commandstats")
        # Script runs only: their usec includes the commands they call (listed apart too).
        served = sum(stats.get(k, {}).get("usec", 0) for k in ("cmdstat_evalsha", "cmdstat_eval"))
        served /= 1e6
    return wall / N * 1e6, (cpu + served) / N * 1e6, served / N * 1e6


def _flask_cases(url: str) -> dict[str, Callable[[], Any]]:
    import redis
    from flask import Flask, request

    from flask_cache_bridge import CacheBridge

    def app(name: str) -> Flask:
        made = Flask(name)
        made.config["TESTING"] = True
        return made

    # Like with like: the baseline and the hook apps carry the extension too (no limit), so
    # "added" is the limit's cost, not that of CacheBridge's own request hooks.
    plain = app("plain")
    plain.config["CACHE_BRIDGE_URL"] = url
    CacheBridge(plain)
    plain.add_url_rule("/", "view", lambda: "ok")
    hook = app("hook")
    hook.config["CACHE_BRIDGE_URL"] = url
    CacheBridge(hook)
    client = redis.Redis.from_url(url)
    script = client.register_script(HOOK_LUA)

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
    three = app("three")
    three.config["CACHE_BRIDGE_URL"] = url
    bridge = CacheBridge(three)
    stacked = bridge.limit("1000000/hour", name="a")(
        bridge.limit("900000/hour", name="b")(bridge.limit("1000000/day", name="c")(lambda: "ok"))
    )
    three.add_url_rule("/", "view", stacked)
    cases["3 stacked bridge.limit, headers on"] = three
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
    script = client.register_script(HOOK_LUA)

    def plain(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    def hooked(request: Any) -> HttpResponse:
        script(keys=[f"hook:{request.META.get('REMOTE_ADDR')}"], args=[3_600_000])
        return HttpResponse("ok")

    views = {
        "none": plain,
        "hook": hooked,
        "ours": ratelimit("1000000/h", name="bench")(plain),
        "quiet": ratelimit("1000000/h", name="bench-quiet", headers=False)(plain),
        "three": ratelimit("1000000/h", name="a")(
            ratelimit("900000/h", name="b")(ratelimit("1000000/d", name="c")(plain))
        ),
    }

    def dispatch(request: Any, case: str) -> HttpResponse:
        # One URL pattern for every case: each resolves alike (patterns are tried in order, so
        # one pattern per case would charge the later cases the earlier ones' misses).
        response: HttpResponse = views[case](request)
        return response

    module = type(sys)("bench_rl_urls")
    module.urlpatterns = [path("<str:case>/", dispatch)]  # type: ignore[attr-defined]
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
        "3 stacked @ratelimit, headers on": get("/three/"),
    }


def _header_writes() -> dict[str, float]:
    """Microseconds to put one limit's RateLimit headers on a Django response: through
    ``response.headers`` (its checks per header) and as ``add_headers`` does (its store)."""
    from django.http import HttpResponse

    from cache_bridge.ratelimit import Decision, Rate
    from cache_bridge.ratelimit.headers import rate_limit_headers
    from django_cache_bridge.ratelimit import add_headers
    from django_cache_bridge.ratelimit_config import current_config

    decisions = [Decision(True, 1000, 999, 30.0, 0.0, "bench", Rate(1000, 3600))]
    config = current_config()

    def public() -> None:
        response = HttpResponse("ok")
        for name, value in rate_limit_headers(decisions, legacy=False).items():
            response.headers.setdefault(name, value)

    def ours() -> None:
        add_headers(HttpResponse("ok"), decisions, config, True)

    found = {}
    for name, fn in (("public API", public), ("add_headers", ours)):
        best = math.inf
        for _ in range(PASSES):
            start = time.process_time()
            for _ in range(N * 10):
                fn()
            best = min(best, (time.process_time() - start) / (N * 10) * 1e6)
        found[f"headers Django: {name}"] = best
    return found


def measure(url: str) -> dict[str, float]:
    """One round: microseconds per request of every case (prefixed by framework)."""
    everything = {
        f"{framework}: {name}": fn
        for framework, cases in (("Flask", _flask_cases(url)), ("Django", _django_cases(url)))
        for name, fn in cases.items()
    }
    import redis

    server = redis.Redis.from_url(url)
    for fn in everything.values():
        fn()  # warm up (script load, limiter built)
    # The apps' long-lived objects out of the collector's way (as a server does after start-up
    # with gc.freeze): a full collection falling in one case's passes is not that case's cost.
    gc.collect()
    gc.freeze()
    passes = [
        {case: _median_us(fn, server) for case, fn in everything.items()} for _ in range(PASSES)
    ]
    wall = {case: min(p[case][0] for p in passes) for case in everything}
    cpu = {f"cpu {case}": min(p[case][1] for p in passes) for case in everything}
    served = {f"server {case}": min(p[case][2] for p in passes) for case in everything}
    return {**wall, **cpu, **served, **_header_writes()}


def _child(url: str) -> None:
    print(json.dumps(measure(url)))


def _round(tree: str, url: str) -> dict[str, float]:
    # The library from ``tree``, the bench from this file: both trees are measured by the
    # same cases.
    env = {**os.environ, "PYTHONPATH": f"{tree}:{tree}/integrations"}
    code = (
        f"import sys, runpy; sys.path[:0] = [{tree!r}, {tree + '/integrations'!r}]; "
        f"runpy.run_path({__file__!r})['_child']({url!r})"
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


#: Issue 15's goals: (case, most the added cost may be, as a multiple of the hook's).
GOALS = (
    ("bridge.limit, headers on", 1.15),
    ("3 stacked bridge.limit, headers on", 1.3),
    ("@ratelimit, headers on", 1.15),
    ("3 stacked @ratelimit, headers on", 1.3),
)


def goals(medians: dict[str, float]) -> list[str]:
    """One line per goal of :data:`GOALS`: the case's added cost over the hook's, by the wall
    clock and by CPU, and whether both are within the goal."""
    lines = []
    for case, most in GOALS:
        framework = "Flask" if case.startswith(("bridge", "3 stacked bridge")) else "Django"
        ratios = []
        for kind in ("", "cpu "):
            base = medians[f"{kind}{framework}: none"]
            hook = medians[f"{kind}{framework}: hook (1 EVALSHA)"] - base
            added = medians[f"{kind}{framework}: {case}"] - base
            ratios.append(added / hook if hook > 0 else math.inf)
        met = "met" if max(ratios) <= most else "NOT met"
        lines.append(
            f"{framework}: {case:36} <= {most:.2f}x: {ratios[0]:.2f}x / {ratios[1]:.2f}x  {met}"
        )
    return lines


def _print(medians: dict[str, dict[str, float]]) -> None:
    print(
        f"\nus per request, median of {ROUNDS} paired rounds (each the fastest of {PASSES} "
        f"interleaved passes x {N} requests; test clients). 'cpu' rows: the client process's "
        "CPU time plus the Redis server's command time, per request; 'server' rows: the "
        "server's script time alone"
    )
    names = list(medians)
    print(f"{'case':44}" + "".join(f"{n:>10} {'added':>8} {'/hook':>6}" for n in names))
    cases = [case for case in medians[names[0]] if not case.startswith("headers ")]
    for case in cases:
        framework = case.split(":")[0]
        row = f"{case:44}"
        for name in names:
            m = medians[name]
            added = m[case] - m[f"{framework}: none"]
            hook = m[f"{framework}: hook (1 EVALSHA)"] - m[f"{framework}: none"]
            row += f"{m[case]:10.1f} {added:8.1f} {added / hook if hook > 0 else 0:6.2f}"
        print(row)
    print("\nCPU us to put one limit's RateLimit headers on a Django response:")
    for case in (c for c in medians[names[0]] if c.startswith("headers ")):
        print(
            f"  {case.removeprefix('headers '):44}"
            + "".join(f"{medians[n][case]:8.2f}" for n in names)
        )
    print("\nGoals (issue 15), this tree, added cost as a multiple of the hook's (wall / CPU):")
    for line in goals(medians[names[0]]):
        print(f"  {line}")
    if len(names) == 2:
        print("\nthis / before, added cost per request:")
        for case in cases:
            framework = case.split(":")[0]
            if case.endswith(": none"):
                continue
            a = medians["this"][case] - medians["this"][f"{framework}: none"]
            b = medians["before"][case] - medians["before"][f"{framework}: none"]
            print(f"  {case:44} {a / b if b > 0 else 0:6.2f}")
