# TSN — the two commands first: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
DEMO_SCALE ?= 0.01
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install lint format stop messages lock clean bench

## demo: install, migrate, seed the demo territory once, run web + Celery worker + beat
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
