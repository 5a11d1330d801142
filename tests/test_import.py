"""The core never imports Django or Flask, and imports without redis-py too."""

from __future__ import annotations

import subprocess
import sys

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is blocked for this test")
        return None
sys.meta_path.insert(0, Block())
import asyncio, pkgutil, importlib
import cache_bridge
from cache_bridge import create_cache, create_sync_cache
skip = ("cache_bridge.adapters.redis",) if "redis" in {blocked!r} else ()
for info in pkgutil.walk_packages(cache_bridge.__path__, "cache_bridge."):
    if not info.name.startswith(skip):
        importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {{"django", "flask"}})
assert not loaded, loaded
print(create_sync_cache().set("k", "v"))
"""


def run_blocked(blocked: set[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER.format(blocked=sorted(blocked))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_core_imports_without_django_or_flask() -> None:
    done = run_blocked({"django", "flask"})
    assert done.returncode == 0, done.stderr
    assert "<Success: None>" in done.stdout


def test_core_imports_without_redis_and_says_how_to_get_it() -> None:
    done = run_blocked({"django", "flask", "redis", "hiredis"})
    assert done.returncode == 0, done.stderr
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCKER.format(blocked=["redis"]).replace(
                'print(create_sync_cache().set("k", "v"))', 'create_cache("redis://localhost/0")'
            ),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode != 0
    assert "pip install 'cache-bridge[redis]'" in check.stderr
