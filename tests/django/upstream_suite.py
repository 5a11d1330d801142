"""Run Django's own generic cache-backend tests (``BaseCacheTests`` in Django's
tests/cache/tests.py) against BridgeCache on memory:// and, when a URL is given, redis://.

Django's test suite is not in the wheel, so this fetches the source distribution of the
installed Django version from PyPI with pip (cached under ~/.cache/cache_bridge), extracts its
tests/ folder into a temporary directory, adds a small module that applies ``BaseCacheTests``
to BridgeCache, and runs it with Django's ``tests/runtests.py``. Nothing is copied into this
repository.

    python tests/django/upstream_suite.py [--redis-url redis://127.0.0.1:PORT/0]

On Redis the cull tests are left out as they are for Django's RedisCache
(``redis_excluded_caches``); on memory:// they run, as for LocMemCache.
Exit status: Django's runner's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(
    os.environ.get("CACHE_BRIDGE_DJANGO_SDIST_DIR", Path.home() / ".cache" / "cache_bridge")
)

GLUE = """
import os

from django.test import TestCase, override_settings

from .tests import BaseCacheTests, caches_setting_for_tests, redis_excluded_caches

BRIDGE = "django_cache_bridge.cache.BridgeCache"


def _caches(location):
    return caches_setting_for_tests(
        base={"BACKEND": BRIDGE, "LOCATION": location}, exclude=redis_excluded_caches
    )


def _memory_caches():
    # Every alias, the culling ones included (as LocMemCache), each culling alias on a store
    # of its own: a store's MAX_ENTRIES and CULL_FREQUENCY are those it was made with.
    setting = caches_setting_for_tests(base={"BACKEND": BRIDGE, "LOCATION": "memory://django-suite"})
    for name in ("cull", "zero_cull"):
        setting[name]["LOCATION"] = f"memory://django-suite-{name}"
    return setting


@override_settings(CACHES=_memory_caches())
class BridgeMemoryCacheTests(BaseCacheTests, TestCase):
    pass


if os.environ.get("BRIDGE_REDIS_URL"):

    @override_settings(CACHES=_caches(os.environ["BRIDGE_REDIS_URL"]))
    class BridgeRedisCacheTests(BaseCacheTests, TestCase):
        pass
"""


def django_version() -> str:
    import django

    return django.__version__


def sdist(version: str, *, download: bool = True) -> Path | None:
    """The cached sdist of Django ``version``, fetched with pip if allowed and missing."""
    found = sorted(CACHE_DIR.glob(f"[dD]jango-{version}.tar.gz"))
    if found:
        return found[0]
    if not download:
        return None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"django=={version}",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-d",
            str(CACHE_DIR),
        ],
        check=True,
        timeout=300,
    )
    found = sorted(CACHE_DIR.glob(f"[dD]jango-{version}.tar.gz"))
    return found[0] if found else None


def extract_tests(archive: Path, into: Path) -> Path:
    """Extract only the tests/ folder of a Django sdist; the path of that folder."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.split("/")[1:2] == ["tests"]]
        tar.extractall(into, members=members, filter="data")
        top = members[0].name.split("/")[0]
    return into / top / "tests"


def run(redis_url: str | None, version: str, *, download: bool = True) -> tuple[int, str]:
    """Django's runner's exit status and its report (what it printed to stderr)."""
    archive = sdist(version, download=download)
    if archive is None:
        return 2, f"no sdist of Django {version} available"
    with tempfile.TemporaryDirectory(prefix="django-suite-") as tmp:
        tests = extract_tests(archive, Path(tmp))
        (tests / "cache" / "test_bridge.py").write_text(GLUE)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "integrations")]),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if redis_url:
            env["BRIDGE_REDIS_URL"] = redis_url
        done = subprocess.run(
            [
                sys.executable,
                "runtests.py",
                "cache.test_bridge",
                "--settings=test_sqlite",
                "--parallel=1",
                "--noinput",
            ],
            cwd=tests,
            env=env,
            check=False,
            timeout=600,
            stderr=subprocess.PIPE,
            text=True,
        )
        sys.stderr.write(done.stderr)
        return done.returncode, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", help="also run on this Redis database (it is flushed)")
    parser.add_argument("--django-version", default=django_version())
    args = parser.parse_args()
    return run(args.redis_url, args.django_version)[0]


if __name__ == "__main__":
    sys.exit(main())
