# Two commands do everything: `make run` (install, migrate, seed, serve on SQLite) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test migrate lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m service migrate
	$(BIN)/python -m service seed
	$(BIN)/python -m service serve

migrate: $(STAMP)
	$(BIN)/python -m service migrate

test: $(STAMP) browser
	$(BIN)/python -m pytest

# The page's browser tests drive Debian's Chromium (TIMELINE_TEST_CHROMIUM names another). As root, it is
# installed where missing; whatever happens here, the tests go on (without a browser those tests skip).
CHROMIUM := $(or $(TIMELINE_TEST_CHROMIUM),/usr/bin/chromium)
browser:
	@test -x "$(CHROMIUM)" || { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; }; \
	  test -x "$(CHROMIUM)" || echo "no Chromium at $(CHROMIUM): the browser tests will skip (under CI=true they fail)"

# the write path beside the raw database and the eventsourcing library (needs wrk: apt-get install wrk)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/writes.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
