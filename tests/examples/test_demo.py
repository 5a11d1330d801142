"""The README's first command runs this demo; it must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "example_projects" / "core_demo.py"


def test_the_core_demo_runs_on_the_in_memory_default() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "user:1 from the cache -> Ada" in done.stdout
    assert "100 concurrent increments, last        100" in done.stdout
    assert "<Failure: get('a'): the adapter is closed>" in done.stdout
    assert "Redis could not be reached" in done.stdout


def test_the_demo_runs_against_redis_when_asked(redis_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"CACHE_URL": redis_url, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert f"Blocking face on {redis_url}" in done.stdout
    assert "user:1 from the cache -> Ada" in done.stdout
