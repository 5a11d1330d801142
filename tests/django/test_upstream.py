"""Django's own generic cache-backend tests (BaseCacheTests) against BridgeCache.

They take about half a minute and fetch Django's source distribution from PyPI on first use,
so they run when ``CACHE_BRIDGE_DJANGO_SUITE=1`` is set (the nox session ``django_suite``
sets it) and are skipped otherwise. See upstream_suite.py.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.django.upstream_suite import django_version, run

pytestmark = pytest.mark.skipif(
    os.environ.get("CACHE_BRIDGE_DJANGO_SUITE") != "1",
    reason="set CACHE_BRIDGE_DJANGO_SUITE=1 to run Django's own cache tests (downloads its sdist)",
)


def test_django_base_cache_tests_pass_on_memory_and_redis(redis_url: str) -> None:
    status, report = run(redis_url, django_version())
    assert status == 0, report[-3000:]
    ran = re.search(r"^Ran (\d+) tests?", report, re.MULTILINE)
    assert ran is not None, report[-3000:]
    # BaseCacheTests has about 55 tests; it runs once on memory:// and once on Redis.
    assert int(ran.group(1)) >= 100
    assert "BridgeRedisCacheTests" not in report  # named only in failures and errors
    # Only Redis's three culling tests are skipped (as for Django's RedisCache); memory://
    # culls as LocMemCache and runs them all.
    assert "OK (skipped=3)" in report
