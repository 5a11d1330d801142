"""The demo's views: a guide at ``/`` that says whether the cache answers, the cache through
Results (``source`` says "cache" on a hit), a cached view (the same ``computed`` number on a
hit), a rate-limited view (429 after five requests a minute) and an async view.

Every view answers while Redis is down: users come from the "database", the report is
computed on every request, the rate limit lets requests through (it fails open), and ``/``
says the cache is down."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Blueprint, current_app, url_for
from returns.result import Failure, Success

from cache_bridge import CacheConnectionError

from .extensions import bridge

blueprint = Blueprint("demo", __name__)

# Stands in for a database; the counter shows when a view really ran.
USERS = {1: {"id": 1, "name": "Ada"}, 2: {"id": 2, "name": "Grace"}}
_report_runs = itertools.count(1)


@blueprint.get("/")
def index() -> dict[str, Any]:
    """What to try, and whether the cache answers right now."""
    match bridge.cache.ping():
        case Success(_):
            health: dict[str, Any] = {"up": True}
        case Failure(error):
            health = {"up": False, "error": error.message, "pages": "still answer, uncached"}
    return {
        "cache": bridge.description,
        "health": health,
        "try": ["/users/1", "/report", "/limited", "/async/visits"],
    }


@blueprint.get("/users/<int:user_id>")
def user(user_id: int) -> tuple[dict[str, Any], int]:
    """Cache-aside through Results: a cache that is down is a miss, never a 500."""
    key = f"user:{user_id}"
    match bridge.cache.get_json(key):
        case Success(None):
            pass  # a miss: read the database below
        case Success(cached):
            return {"user": cached, "source": "cache"}, 200
        case Failure(CacheConnectionError() as error):
            current_app.logger.info("cache unreachable, reading the database: %s", error)
        case Failure(error):
            current_app.logger.warning("cache error, reading the database: %s", error)
    found = USERS.get(user_id)
    if found is None:
        return {"error": f"no user {user_id}"}, 404
    bridge.cache.set_json(key, found, ttl=300)  # a failed write only costs the next miss
    return {"user": found, "source": "database"}, 200


@blueprint.get("/report")
@bridge.cached(ttl=30)
def report() -> dict[str, Any]:
    """An expensive page: computed at most once per 30 seconds per query string and host."""
    return {"report": "all quiet", "computed": next(_report_runs)}


@blueprint.post("/report/refresh")
def refresh_report() -> dict[str, Any]:
    """Drops every cached variant of /report (each query string, host and scheme)."""
    return {"invalidated": bridge.invalidate(url_for("demo.report")).value_or(0)}


@blueprint.get("/limited")
@bridge.limit("5/minute")
def limited() -> dict[str, Any]:
    """Five requests a minute per client address; then 429 with Retry-After. The RateLimit
    headers say how many are left."""
    return {"limited": "not yet"}


@blueprint.get("/async/visits")
async def async_visits() -> dict[str, Any]:
    """An async view: ``bridge.async_cache`` is safe in Flask's per-request event loops."""
    counted = await bridge.async_cache.increment("visits")
    if isinstance(counted, Failure):
        return {"visits": None, "cache_error": str(counted.failure())}
    return {"visits": counted.unwrap()}
