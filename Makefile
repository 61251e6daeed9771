# TSN — the two commands first: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
DEMO_SCALE ?= 0.01
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install lint format audit stop messages lock clean bench screenshots

## demo: install, migrate, seed the demo territory once, run web + Celery worker + beat
# The demo accounts log in with their password (medecin@demo.tsn.test also with a TOTP code:
# manage.py demo_totp); outside the demo every professional account needs a second factor.
demo: export TSN_REQUIRE_MFA ?= 0
demo: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --scale $(DEMO_SCALE)
	@echo ""
	@echo "TSN runs on http://$(HOST):$(PORT)/  (Ctrl-C stops the web server, the worker and beat)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(BIN)/celery -A tsn worker --beat --loglevel=INFO --concurrency=2 & \
	$(MANAGE) runserver $(HOST):$(PORT) --noreload

## test: run the whole suite (embedded PostgreSQL, or DATABASE_URL if set)
test: install
	$(BIN)/pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12) and "Python 3.12 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## audit: security checks: bandit on our code (medium and high findings; ruff's S rules
## catch the low ones), pip-audit on the locked dependencies (fails on a known vulnerability,
## and on a package it could not check). pip-audit reads PyPI's per-version vulnerability
## data: where the network does not serve it, it says so and audits nothing.
PYPI_VULNERABILITY_DATA := https://pypi.org/pypi/pip/24.0/json
audit: install
	$(BIN)/bandit -c pyproject.toml --severity-level medium -r tsn patients pathways professionals portal
	@if $(BIN)/python -c 'import urllib.request; urllib.request.urlopen("$(PYPI_VULNERABILITY_DATA)", timeout=15)' 2>/dev/null; then \
		$(BIN)/pip-audit --requirement constraints.txt --no-deps --disable-pip --progress-spinner off --strict; \
	else \
		echo "pip-audit: NOT RUN, PyPI's vulnerability data ($(PYPI_VULNERABILITY_DATA)) is out of reach from this network"; \
	fi

## screenshots: refresh the README's pictures (docs/screenshots/) by running the browser
## journeys (Debian's chromium and poppler-utils: apt-get install chromium poppler-utils)
screenshots: install
	TSN_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser

## stop: stop the embedded PostgreSQL server (it outlives the commands that start it)
stop:
	$(BIN)/python -c 'from pathlib import Path; from tsn.embedded_db import stop; print("stopped" if stop(Path("var/postgres").resolve()) else "not running")'

## messages: refresh and compile the translation catalogues (tsn/locale)
messages: install
	$(MANAGE) makemessages --locale fr --locale en --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*'
	$(MANAGE) compilemessages --ignore '.venv/*'

## lock: record the versions of every dependency (CI and fresh installs use them)
lock: install
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

clean: stop
	rm -rf $(VENV) var

## bench: the hot operations beside their floors (SCALE=1 for the full territory; needs wrk
## for the throughput part: apt-get install wrk)
SCALE ?= 0.01
bench: install
	mkdir -p var/bench
	$(MANAGE) bench --scale $(SCALE) --throughput 10 --json var/bench/latest-$(SCALE).json
