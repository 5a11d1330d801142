"""The package as a user gets it: ``python -m build`` makes an sdist and a wheel (the wheel
built from the sdist), ``twine check`` passes, and the wheel, installed (not editable) into a
fresh virtualenv with each extra alone, works there without the other frameworks.

The dependencies come from one wheelhouse that pip fills from its cache, so the four venvs
install offline (``--no-index``)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import cache_bridge

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
VERSION = cache_bridge.__version__


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``python -m build`` makes: the sdist, then the wheel built from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    return dist / f"cache_bridge-{VERSION}-py3-none-any.whl"


@pytest.fixture(scope="module")
def wheelhouse(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and every wheel its extras need, gathered once (from pip's cache)."""
    house = tmp_path_factory.mktemp("wheelhouse")
    every = f"{wheel}[redis,django,flask]"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "-w", house, every)
    return house


def test_the_build_makes_an_sdist_and_a_wheel_that_twine_accepts(dist: Path, wheel: Path) -> None:
    sdist = dist / f"cache_bridge-{VERSION}.tar.gz"
    assert sorted(p.name for p in dist.iterdir()) == [wheel.name, sdist.name]
    assert "PASSED" in _run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"cache_bridge-{VERSION}.dist-info/METADATA").decode()
    assert f"cache_bridge-{VERSION}.dist-info/licenses/LICENSE" in names
    for package in ("cache_bridge", "django_cache_bridge", "flask_cache_bridge"):
        assert f"{package}/py.typed" in names
    assert "django_cache_bridge/management/commands/cache_flush.py" in names
    assert not [name for name in names if name.startswith(("tests/", "integrations/"))]
    assert f"\nVersion: {VERSION}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    for extra in ("redis", "django", "flask"):
        assert f"\nProvides-Extra: {extra}\n" in metadata


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "cache_bridge/__init__.py"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


# Run inside each venv, from a folder outside the checkout, so only the installed wheel can
# be imported. Each prints what it saw; the test checks the lines.
COMMON = """
import importlib.metadata, importlib.util, sys
import cache_bridge
assert "site-packages" in cache_bridge.__file__, cache_bridge.__file__
assert cache_bridge.__version__ == importlib.metadata.version("cache-bridge")
present = [n for n in ("redis", "hiredis", "django", "flask") if importlib.util.find_spec(n)]
print("present:", ",".join(present) or "-")
"""

USES = {
    "core": """
from cache_bridge import ConfigurationError, create_sync_cache
cache = create_sync_cache("memory://", timeout=0.5)
assert cache.set("k", "v").unwrap() is None
print("memory get:", cache.get("k").unwrap())
try:
    create_sync_cache(sys.argv[1])
except ConfigurationError as exc:
    print("redis url:", exc)
""",
    "redis": """
import asyncio
from cache_bridge import create_cache, create_sync_cache
cache = create_sync_cache(sys.argv[1], key_prefix="wheel")
assert cache.set("k", "from the wheel").unwrap() is None
print("redis get:", cache.get("k").unwrap())
cache.close()
async def main():
    acache = create_cache(sys.argv[1], key_prefix="wheel")
    print("async redis get:", (await acache.get("k")).unwrap())
    await acache.aclose()
asyncio.run(main())
""",
    "django": """
import io
import django
from django.conf import settings
settings.configure(
    SECRET_KEY="wheel-test",
    INSTALLED_APPS=["django_cache_bridge"],
    CACHES={
        "default": {
            "BACKEND": "django_cache_bridge.cache.BridgeCache",
            "LOCATION": "memory://?key_prefix=wheel",
        },
        "redis": {
            "BACKEND": "django_cache_bridge.cache.BridgeCache",
            "LOCATION": sys.argv[1],
            "KEY_PREFIX": "wheel",
        },
    },
)
django.setup()
from django.core.cache import cache
from django.core.checks import run_checks
cache.set("k", {"a": 1})
print("django get:", cache.get("k"))
print("checks:", ",".join(sorted(m.id for m in run_checks())))
""",
    "flask": """
import itertools
from flask import Flask
from flask_cache_bridge import CacheBridge
app = Flask("wheel")
app.config["CACHE_BRIDGE_URL"] = "memory://"
bridge = CacheBridge(app)
renders = itertools.count(1)
@app.get("/")
@bridge.cached(ttl=60)
def page():
    return f"render {next(renders)}"
client = app.test_client()
print("flask pages:", client.get("/").text, "/", client.get("/").text)
""",
}

CASES = {
    # extra: (script, expected lines)
    "": (
        "core",
        [
            "present: -",
            "memory get: v",
            "redis url: the Redis adapter needs redis-py: pip install 'cache-bridge[redis]'",
        ],
    ),
    "redis": (
        "redis",
        ["present: redis,hiredis", "redis get: from the wheel", "async redis get: from the wheel"],
    ),
    "django": (
        "django",
        ["present: django", "django get: {'a': 1}", "checks: django_cache_bridge.E003"],
    ),
    "flask": ("flask", ["present: flask", "flask pages: render 1 / render 1"]),
}


@pytest.mark.redis
@pytest.mark.parametrize("extra", list(CASES), ids=lambda extra: extra or "no-extra")
def test_the_wheel_works_in_a_fresh_venv_with_one_extra(
    extra: str, wheelhouse: Path, tmp_path: Path, redis_url: str, redis_client: object
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    requirement = f"cache-bridge[{extra}]" if extra else "cache-bridge"
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index",
        "--find-links", wheelhouse, requirement,
    )  # fmt: skip
    script, expected = CASES[extra]
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONNOUSERSITE": "1"}
    out = _run(python, "-c", COMMON + USES[script], redis_url, cwd=work, env=env)
    assert out.splitlines() == expected
