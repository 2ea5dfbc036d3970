# 证照管理系统 — two commands: `make run` and `make test` (see README.md)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
TEST_WORKERS ?= auto  # pytest-xdist processes; each gets its own PostgreSQL database and Redis db
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.installed-test-stamp

.PHONY: install install-test setup run test bench drill clean

$(BIN)/python:
	$(PY) tools/bootstrap_venv.py $(VENV)

$(STAMP): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The test extra (Playwright, the independent OFD reader, …) is large: only `make test` and `make bench` need it.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

## setup: venv, install, migrate the embedded SQLite database, seed the demo (no server)
setup: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo

## run: setup, then serve on http://127.0.0.1:$(PORT) with the embedded worker and platform simulator
run: setup
	$(FLASK) serve --port $(PORT)

## test: the whole suite (PostgreSQL/Redis/Chromium tests skip when absent unless REQUIRE_SERVICES=1)
test: install-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## bench: print the benchmark figures
bench: setup install-test
	$(BIN)/python bench/run_all.py

## drill: the fault drills on a 2,000-row import (needs TEST_DATABASE_URL; runs its own redis-server)
drill: install-test
	DRILL_ROWS=$${DRILL_ROWS:-2000} DRILL_TIMEOUT=$${DRILL_TIMEOUT:-900} REQUIRE_SERVICES=1 \
		$(BIN)/python -m pytest tests/jobs/test_drills.py -p no:xdist -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/portal.sqlite3
