#!/usr/bin/env python
"""The example site's manage.py: runserver, check, cache_ping, cache_flush."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run from a checkout without installing: the site, the core and the Django app.
sys.path[:0] = [str(HERE), str(HERE.parents[1]), str(HERE.parents[1] / "integrations")]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
