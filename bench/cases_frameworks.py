"""Django's cache API on three Redis backends, and the added cost per request of rate
limiting through Flask's and Django's test clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.harness import Case, Group
from bench.sizes import Sizes

__all__ = ["DJANGO_REDIS", "django_cache_groups", "flask_app_cases", "ratelimit_groups"]

DJANGO_REDIS = "django-redis"
BUILTIN = "Django RedisCache"
OURS = "cache_bridge"
UNSIGNED = "cache_bridge (sign=False)"
NONE = "no limiter"
VALUE = {"name": "bench", "items": list(range(10)), "text": "v" * 40}


def django_cache_groups(s: Sizes) -> list[Group]:
    from django.core.cache import caches

    aliases = {
        OURS: caches["bridge"],
        UNSIGNED: caches["bridge_unsigned"],
        BUILTIN: caches["django"],
        DJANGO_REDIS: caches["djredis"],
    }
    keys = [f"m:{i}" for i in range(s.many)]
    mapping = dict.fromkeys(keys, VALUE)
    for cache in aliases.values():
        cache.set("k", VALUE)
        cache.set("n", 0)
        cache.set_many(mapping)

    def g(name: str, n: int, make: Callable[[Any], Callable[[], Any]]) -> Group:
        cases = [Case(impl, make(cache)) for impl, cache in aliases.items()]
        note = (
            "cache_bridge signs every pickled value with a keyed MAC (BLAKE2b) by default (OPTIONS"
            ' "sign"); the sign=False row shows what that costs. The other two do not sign.'
        )
        return Group(name, "Django cache API", DJANGO_REDIS, cases, n, note=note)

    def get(cache: Any) -> Callable[[], Any]:
        def call() -> Any:
            if cache.get("k") is None:
                raise RuntimeError("benchmark get missed")

        return call

    return [
        g("get", s.single, get),
        g("set", s.single, lambda cache: lambda: cache.set("k", VALUE)),
        g(f"get_many({s.many})", s.batch, lambda cache: lambda: cache.get_many(keys)),
        g(f"set_many({s.many})", s.batch, lambda cache: lambda: cache.set_many(mapping)),
        g("incr", s.single, lambda cache: lambda: cache.incr("n")),
    ]


def flask_app_cases(url: str) -> list[tuple[str, Any]]:
    """Three Flask apps with the same view: none, flask-limiter, cache_bridge."""
    from flask import Flask
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from flask_cache_bridge import CacheBridge

    def app_with(name: str) -> Flask:
        app = Flask(name)
        app.config["TESTING"] = True
        return app

    plain = app_with("plain")
    plain.add_url_rule("/", "view", lambda: "ok")

    limited = app_with("flask_limiter")
    limiter = Limiter(get_remote_address, app=limited, storage_uri=url, strategy="fixed-window")
    limited.add_url_rule("/", "view", limiter.limit("1000000/hour")(lambda: "ok"))

    ours = app_with("cache_bridge")
    ours.config["CACHE_BRIDGE_URL"] = url
    bridge = CacheBridge(ours)
    ours.add_url_rule("/", "view", bridge.limit("1000000/hour", key="ip")(lambda: "ok"))
    return [(NONE, plain), ("flask-limiter", limited), (OURS, ours)]


def _get(client: Any, where: str) -> Callable[[], Any]:
    def call() -> None:
        response = client.get(where)
        if response.status_code != 200:
            raise RuntimeError(f"{where} answered {response.status_code}")

    return call


def ratelimit_groups(url: str, s: Sizes) -> list[Group]:
    from django.test import Client

    flask_cases = [Case(impl, _get(app.test_client(), "/")) for impl, app in flask_app_cases(url)]
    client = Client()
    django_cases = [
        Case(NONE, _get(client, "/plain/")),
        Case("django-ratelimit", _get(client, "/django-ratelimit/")),
        Case(OURS, _get(client, "/ours/")),
    ]
    return [
        Group("Flask request", "rate limiting", NONE, flask_cases, s.requests),
        Group("Django request", "rate limiting", NONE, django_cases, s.requests),
    ]
