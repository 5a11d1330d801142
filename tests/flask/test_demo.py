"""`make run` runs this demo; it must keep working on memory:// and on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "example_projects" / "flask_app" / "demo.py"


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_the_flask_demo_runs(backend: str, request: pytest.FixtureRequest) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    if backend == "redis":
        env["CACHE_URL"] = request.getfixturevalue("redis_url")
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        "GET  /users/1         -> 200 {'source': 'cache', 'user': {'id': 1, 'name': 'Ada'}}"
        in lines
    )
    assert lines.count("GET  /report          -> 200 {'computed': 1, 'report': 'all quiet'}") == 2
    assert "GET  /async/visits    -> 200 {'visits': 2}" in lines
    assert "GET  /limited x6 -> [200, 200, 200, 200, 200, 429]" in lines
    assert lines[-1].startswith("Deleted 4 keys")  # the user, the report, visits, the limit
