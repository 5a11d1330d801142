"""Helpers for the rate-limit tests that run on the server's clock."""

from __future__ import annotations

import time

import redis

__all__ = ["inside_one_minute"]


def inside_one_minute(client: redis.Redis, needed: float = 10.0) -> None:
    """Return when at least ``needed`` seconds are left in the Redis server's current minute
    (and so in its hour and day), waiting for the next minute if fewer are: a test that counts
    requests in clock-aligned windows then starts and ends inside one window."""
    seconds, micros = client.time()
    into = seconds % 60 + micros / 1e6
    if 60 - into < needed:
        time.sleep(60 - into + 0.05)
