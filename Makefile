# Two commands do everything: `make run` (install, migrate, seed, serve on SQLite) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Installs are reproducible: every package, pinned with its hashes, comes from a lock file (`make lock`
# writes them again from pyproject.toml). `make run` installs what the service needs; `make test` adds
# the test tools.
RUN_LOCK := requirements/run.lock
TEST_LOCK := requirements/test.lock
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test migrate lint bench lock clean browser

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(RUN_LOCK) pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(RUN_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): $(TEST_LOCK) $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	touch $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m service migrate
	$(BIN)/python -m service seed
	$(BIN)/python -m service serve

migrate: $(RUN_STAMP)
	$(BIN)/python -m service migrate

test: $(TEST_STAMP) browser
	$(BIN)/python -m pytest

# the lock files, written again from pyproject.toml's dependencies (run after changing them)
lock: | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile $(LOCK_FLAGS) -o $(RUN_LOCK) pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra test -o $(TEST_LOCK) pyproject.toml

# The page's browser tests drive Debian's Chromium (TIMELINE_TEST_CHROMIUM names another). As root, it is
# installed where missing; whatever happens here, the tests go on (without a browser those tests skip).
CHROMIUM := $(or $(TIMELINE_TEST_CHROMIUM),/usr/bin/chromium)
browser:
	@test -x "$(CHROMIUM)" || { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; }; \
	  test -x "$(CHROMIUM)" || echo "no Chromium at $(CHROMIUM): the browser tests will skip (under CI=true they fail)"

# the write path beside the raw database and the eventsourcing library (needs wrk: apt-get install wrk)
bench: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/writes.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
