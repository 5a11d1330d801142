"""A non-interactive tour of the example site: requests its views with Django's test client
and runs the cache commands. ``CACHE_URL=redis://127.0.0.1:6379/0`` runs it against Redis
(it only touches keys under the ``django_site:`` prefix).

    python example_projects/django_site/demo.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1]), str(HERE.parents[1] / "integrations")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    print(f"cache: {settings.CACHES['default']['LOCATION']}")
    call_command("cache_flush", "--noinput")
    client = Client()
    for path in ("/visits/", "/visits/", "/async/", "/cached/", "/cached/"):
        response = client.get(path)
        print(f"GET {path:9} -> {response.status_code} {response.content.decode()}")
    statuses = [client.get("/limited/").status_code for _ in range(6)]
    print(f"GET /limited/ x6 -> {statuses}")
    call_command("cache_ping")
    call_command("cache_flush", "--dry-run")
    call_command("cache_flush", "--noinput")


if __name__ == "__main__":
    main()
