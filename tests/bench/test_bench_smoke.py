"""The benchmark suite runs (a few calls per group, one round) and writes every row: a smoke
run so that it cannot rot. It asserts what was produced, never how fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cache_bridge.testing import find_redis_server

pytestmark = pytest.mark.skipif(find_redis_server() is None, reason="needs a redis-server")

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "protocol, blocking": {
        "get": {"raw redis-py", "cache_bridge"},
        "set (ttl)": {"raw redis-py", "cache_bridge"},
        "increment": {"raw redis-py", "cache_bridge"},
        "get_many(100)": {"raw redis-py", "cache_bridge"},
        "set_many(100, ttl)": {"raw redis-py", "cache_bridge"},
        "delete_pattern(500 keys)": {"SCAN loop, DEL key by key", "cache_bridge"},
    },
    "protocol, asyncio": {
        "get": {"raw redis-py", "cache_bridge"},
        "set (ttl)": {"raw redis-py", "cache_bridge"},
        "increment": {"raw redis-py", "cache_bridge"},
        "get_many(100)": {"raw redis-py", "cache_bridge"},
        "set_many(100, ttl)": {"raw redis-py", "cache_bridge"},
        "get, 50 concurrent tasks": {
            "raw redis-py",
            "cache_bridge",
            "cache_bridge (pipelining off)",
        },
    },
    "Django cache API": {
        op: {"cache_bridge", "cache_bridge (sign=False)", "Django RedisCache", "django-redis"}
        for op in ("get", "set", "get_many(100)", "set_many(100)", "incr")
    },
    "rate limiting": {
        "Flask request": {"no limiter", "flask-limiter", "cache_bridge"},
        "Django request": {"no limiter", "django-ratelimit", "cache_bridge"},
    },
    # The value codec: every serializer with and without each compressor (all installed by the
    # test extra), against redis-py storing a plain pickle.
    "codec": {
        f"{op} {size}": {
            "raw redis-py, pickle",
            *(
                f"{serializer}{'+' + compressor if compressor else ''}"
                for serializer in ("pickle", "json", "msgpack")
                for compressor in ("", "zlib", "zstd", "lz4")
            ),
        }
        for op in ("set", "get")
        for size in ("10 KB", "1 MB")
    },
    # What metrics cost on a get (bench/cases_observability.py).
    "observability": {
        name: {
            "driver without the event stream",
            "nothing listening",
            "Prometheus registry",
            "OpenTelemetry SDK",
            "OpenTelemetry SDK + Prometheus",
            "both, with the SDK's exact histogram",
            "before: OTel SDK + Prometheus per call",
            "OTel spans, inside a trace",
        }
        for name in ("get, Redis", "get, memory://")
    },
}


def test_quick_bench_writes_every_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    found = {(g["section"], g["name"]): {r["impl"] for r in g["results"]} for g in data["groups"]}
    expected = {
        (section, name): impls
        for section, groups in EXPECTED.items()
        for name, impls in groups.items()
    }
    assert found == expected
    for group in data["groups"]:
        for row in group["results"]:
            assert row["ops_per_s"] > 0, (group["name"], row["impl"])
            assert row["p99_us"] >= row["p50_us"] > 0
    assert len(data["targets"]) == 20
    assert data["environment"]["command"] == "python -m bench --quick --out " + str(tmp_path)
    assert data["environment"]["packages"]["django-redis"] != "not installed"
    markdown = (tmp_path / "RESULTS.md").read_text()
    for (section, name), impls in expected.items():
        assert f"## {section}" in markdown
        assert f"### {name} (reference:" in markdown
        for impl in impls:
            assert f"| {impl} |" in markdown
    assert "| delete_pattern |" in markdown


def test_bench_refuses_bad_arguments() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--rounds", "0"],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--rounds must be at least 1" in done.stderr
