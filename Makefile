# The two commands of the README: `make run` (the product, embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The address `make run` listens on: this machine only by default (DEBUG is on); HOST=0.0.0.0
# opens it to the network (then add the machine's name to ALLOWED_HOSTS).
HOST ?= 127.0.0.1
# PostgreSQL connections the web server holds at most (a pool; the worker holds one per process).
DB_POOL_SIZE ?= 8
DEMO_ORDERS ?= 500
DEMO_TICKETS ?= 300
# The ticket and SLA benchmarks' database, on the server of DATABASE_URL: seeded once with a
# million tickets (minutes), then reused. bench_seed_demo drops and re-creates DATABASE_URL's.
BENCH_TICKETS_DB ?= cs_bench_tickets
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
# Test processes in parallel (pytest-xdist), each with its own test database.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install run web worker test test-fast lint typecheck format browser bench lock messages

help:
	@echo "make run    - install, migrate, load demo data, start web + Celery worker + beat"
	@echo "make test   - the whole test suite (PostgreSQL when DATABASE_URL is set)"
	@echo "make lint   - ruff, migrations check, bandit, import contracts (lint-imports), mypy"
	@echo "make typecheck - mypy on the kernel, the SLA engine and the services (not in lint yet)"
	@echo "make bench  - the benchmarks in tests/perf (needs DATABASE_URL to PostgreSQL)"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Regenerate the pinned versions after changing the dependencies in pyproject.toml.
lock:
	$(PYTHON) -m venv /tmp/csplatform-lock-venv
	/tmp/csplatform-lock-venv/bin/pip install --quiet --upgrade pip
	/tmp/csplatform-lock-venv/bin/pip install --quiet ".[dev]"
	/tmp/csplatform-lock-venv/bin/pip freeze --exclude-editable | grep -vi '^csplatform' > requirements.lock
	rm -rf /tmp/csplatform-lock-venv

messages: install
	$(BIN)/python manage.py makemessages --locale zh_Hans --ignore '.venv/*' --ignore 'var/*' --no-obsolete
	$(BIN)/python manage.py compilemessages --locale zh_Hans --ignore '.venv/*'

# Web server (uvicorn, ASGI), Celery worker and Celery beat in the foreground; Ctrl-C stops
# all three. Each request runs in a thread of its own: PostgreSQL connections come from a
# bounded pool (DB_POOL_SIZE), never one kept per thread.
run: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --orders $(DEMO_ORDERS) --tickets $(DEMO_TICKETS)
	@echo
	@echo "  Service desk:  http://$(HOST):$(PORT)/"
	@echo "  Admin:         http://$(HOST):$(PORT)/admin/"
	@echo "  API docs:      http://$(HOST):$(PORT)/api/docs/"
	@echo "  Demo logins:   agent / demo, supervisor / demo, admin / demo, analyst / demo (KPIs only)"
	@echo "  Ctrl-C stops the web server, the worker and beat."
	@echo
	@pids=""; \
	stop() { trap - INT TERM EXIT; kill $$pids 2>/dev/null; wait $$pids 2>/dev/null; }; \
	trap stop INT TERM EXIT; \
	env -u DB_POOL_SIZE $(BIN)/celery -A csplatform worker --beat --loglevel INFO --concurrency 2 \
		--schedule var/celerybeat-schedule & pids="$$pids $$!"; \
	DB_POOL_SIZE=$(DB_POOL_SIZE) $(BIN)/uvicorn csplatform.asgi:application --host $(HOST) \
		--port $(PORT) --lifespan off --no-server-header & pids="$$pids $$!"; \
	wait -n

# Chromium for the browser tests, and a CJK font so that screenshots of Chinese pages are
# readable: Debian's packages where we can install them, else Playwright's own Chromium.
browser:
	@if [ -x "$(CHROMIUM)" ] && { ! command -v fc-list >/dev/null || fc-list :lang=zh | grep -q .; }; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	elif [ ! -x "$(CHROMIUM)" ]; then \
		$(BIN)/playwright install chromium; \
	fi

test: install browser
	$(BIN)/pytest -n $(TEST_WORKERS)

test-fast: install
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/bandit --quiet --recursive --severity-level medium --exclude '*/migrations/*' \
		csplatform orders tickets refunds complaints surveys kpis privacy messaging demo
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# The kernel, the SLA engine and every app's services (pyproject.toml's [tool.mypy] says which).
typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@test -n "$$DATABASE_URL" || { echo "Set DATABASE_URL to a PostgreSQL database"; exit 2; }
	$(BIN)/python tests/perf/bench_seed_demo.py --orders $${BENCH_ORDERS:-100000}
	DATABASE_URL=$${DATABASE_URL%/*}/$(BENCH_TICKETS_DB) $(BIN)/python tests/perf/bench_tickets.py
	DATABASE_URL=$${DATABASE_URL%/*}/$(BENCH_TICKETS_DB) $(BIN)/python tests/perf/bench_sla.py
	DATABASE_URL=$${DATABASE_URL%/*}/$(BENCH_TICKETS_DB) $(BIN)/python tests/perf/bench_kpis.py
