# Two commands do everything: `make run` (install, migrate, seed, serve on SQLite) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test migrate lint bench clean

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

test: $(STAMP)
	$(BIN)/python -m pytest

# the write path beside the raw database and the eventsourcing library (needs wrk: apt-get install wrk)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/writes.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
