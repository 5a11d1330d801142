"""Run django-redis's own backend and session tests (``tests/test_backend.py`` and
``tests/test_session.py`` of its source distribution) against BridgeCache on Redis.

Like upstream_suite.py for Django's suite: the sdist of the installed django-redis version is
fetched with pip (cached under ~/.cache/cache_bridge), its tests/ folder is extracted into a
temporary directory, a settings module pointing every alias at BridgeCache is added, the
conftest's list of settings modules is cut to that one (and its xdist scheduler hook, which
needs pytest-xdist, is left out), and pytest runs the two files there. pytest-mock, which some
tests use, is installed into the same cache folder if it is missing. Nothing is copied into
this repository.

    python tests/django/django_redis_suite.py --redis-url redis://127.0.0.1:PORT/0

Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(
    os.environ.get("CACHE_BRIDGE_DJANGO_SDIST_DIR", Path.home() / ".cache" / "cache_bridge")
)
PYTEST_MOCK = "pytest-mock==3.15.1"

SETTINGS = """
SECRET_KEY = "django_tests_secret_key"
_BRIDGE = "django_cache_bridge.cache.BridgeCache"
_URL = {url!r}
CACHES = {{
    "default": {{"BACKEND": _BRIDGE, "LOCATION": _URL}},
    "doesnotexist": {{
        "BACKEND": _BRIDGE,
        "LOCATION": "redis://127.0.0.1:{dead_port}/1",
        "OPTIONS": {{"timeout": 0.2, "connect_timeout": 0.2}},
    }},
    "sample": {{"BACKEND": _BRIDGE, "LOCATION": _URL}},
    "with_prefix": {{"BACKEND": _BRIDGE, "LOCATION": _URL, "KEY_PREFIX": "test-prefix"}},
}}
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
USE_TZ = False
"""


def django_redis_version() -> str:
    from importlib.metadata import version

    return version("django-redis")


def sdist(version: str, *, download: bool = True) -> Path | None:
    """The cached sdist of django-redis ``version``, fetched with pip if allowed and missing."""
    found = sorted(CACHE_DIR.glob(f"django[-_]redis-{version}.tar.gz"))
    if found or not download:
        return found[0] if found else None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"django-redis=={version}",
         "--no-binary", ":all:", "--no-deps", "-d", str(CACHE_DIR)],
        check=True, timeout=300,
    )  # fmt: skip
    found = sorted(CACHE_DIR.glob(f"django[-_]redis-{version}.tar.gz"))
    return found[0] if found else None


def pytest_mock_path(*, download: bool = True) -> Path | None:
    """A folder holding pytest-mock (``None`` when it is importable already)."""
    if importlib.util.find_spec("pytest_mock") is not None:
        return None
    target = CACHE_DIR / "pytest-mock"
    if not (target / "pytest_mock").exists() and download:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target),
             PYTEST_MOCK],
            check=True, timeout=300,
        )  # fmt: skip
    return target


def prepare(archive: Path, into: Path, redis_url: str) -> Path:
    """Extract the sdist's tests/ into ``into`` and point it at BridgeCache; its root."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.split("/")[1:2] == ["tests"]]
        tar.extractall(into, members=members, filter="data")
        top = into / members[0].name.split("/")[0]
    tests = top / "tests"
    parts = urlsplit(redis_url)
    db = parts.path.strip("/") or "0"
    url = f"redis://{parts.hostname}:{parts.port}/{db}"
    (tests / "settings" / "bridge.py").write_text(SETTINGS.format(url=url, dead_port=1))
    conftest = (tests / "conftest.py").read_text()
    conftest = conftest.replace("from xdist.scheduler import LoadScopeScheduling\n", "")
    conftest = re.sub(
        r"class FixtureScheduling.*?return FixtureScheduling\(config, log\)\n",
        "",
        conftest,
        flags=re.DOTALL,
    )
    conftest = re.sub(r"settings = \[.*?\]", 'settings = ["bridge"]', conftest, flags=re.DOTALL)
    (tests / "conftest.py").write_text(conftest)
    return top


def run(redis_url: str, version: str, *, download: bool = True) -> tuple[int, str]:
    """pytest's exit status and its report."""
    archive = sdist(version, download=download)
    if archive is None:
        return 2, f"no sdist of django-redis {version} available"
    mock = pytest_mock_path(download=download)
    with tempfile.TemporaryDirectory(prefix="django-redis-suite-") as tmp:
        top = prepare(archive, Path(tmp), redis_url)
        paths = [str(top), str(ROOT), str(ROOT / "integrations")]
        if mock is not None:
            paths.append(str(mock))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_mock",
             "-p", "no:django", "-o", "addopts=", "-rfE",
             "tests/test_backend.py", "tests/test_session.py"],
            cwd=top, env=env, check=False, timeout=900, capture_output=True, text=True,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True, help="a Redis database (it is flushed)")
    parser.add_argument("--django-redis-version", default=django_redis_version())
    args = parser.parse_args()
    status, report = run(args.redis_url, args.django_redis_version)
    sys.stdout.write(report)
    return status


if __name__ == "__main__":
    sys.exit(main())
