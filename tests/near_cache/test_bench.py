"""The near cache's bench runs (a few calls, one round) and prints every row: a smoke run so
that it cannot rot. It asserts what was printed, never how fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cache_bridge.testing.redis_server import packaged_redis_server

ROOT = Path(__file__).resolve().parents[2]
ARGS = ("--rounds", "1", "--n", "20", "--lag-samples", "20")


def test_the_near_cache_bench_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.cases_near_cache", *ARGS],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'integrations'}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [
        "redis-py GET",
        "cache_bridge near cache get",
        "redis.asyncio GET",
        "cache_bridge async near cache get",
        "django-redis",
        "BridgeCache near cache",
        "applied",
        "visible",
        "stale reads",
    ]
    if packaged_redis_server() is not None:
        rows.append("redis-py client-side cache")
    for row in rows:
        assert row in done.stdout, done.stdout
