"""The Django support matrix: the Django tests on each supported Django and Python.

    nox -s django            # every cell of the matrix
    nox -s "django(python='3.13', django='6.1')"
    nox -s django_suite      # Django's own BaseCacheTests on BridgeCache (fetches Django's sdist)

Each Python must be on PATH as python3.X (with pyenv: PATH=~/.pyenv/versions/3.13.0/bin:$PATH).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["django"]

# Django 4.2 and 5.2 are LTS; Django 6.x needs Python 3.12 or newer.
MATRIX = [("3.11", "4.2"), ("3.11", "5.2"), ("3.13", "5.2"), ("3.13", "6.0"), ("3.13", "6.1")]


def _install(session: nox.Session, django: str) -> None:
    session.install("-e", ".[test]", f"django~={django}.0")


@nox.session
@nox.parametrize(("python", "django"), MATRIX)
def django(session: nox.Session, django: str) -> None:
    """The Django integration's tests (pytest-django, memory:// and a test-started Redis)."""
    _install(session, django)
    session.run("pytest", "-p", "no:cacheprovider", "tests/django", *session.posargs)


@nox.session
@nox.parametrize(("python", "django"), MATRIX)
def django_suite(session: nox.Session, django: str) -> None:
    """Django's own generic cache-backend tests against BridgeCache (memory:// and Redis)."""
    _install(session, django)
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "tests/django/test_upstream.py",
        *session.posargs,
        env={"CACHE_BRIDGE_DJANGO_SUITE": "1"},
    )
