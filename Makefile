# Two commands for a new machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-pg install db translations messages lint chromium clean help

help:
	@echo "make run    - install, migrate, load reference + demo data, serve on http://$(HOST):$(PORT) with the job consumer"
	@echo "make test   - the whole suite (SQLite), browser tests included"
	@echo "make test-pg - the suite on PostgreSQL with a real Huey consumer on Redis"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed translations

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy -d market/translations -f >/dev/null 2>&1 || $(BIN)/pybabel compile -d market/translations -f

messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --omit-header -o market/translations/messages.pot .
	$(BIN)/pybabel update -i market/translations/messages.pot -d market/translations --no-fuzzy-matching

db: install
	$(FLASK) db upgrade
	$(FLASK) refdata load
	$(FLASK) demo

run: db
	bash tools/run_dev.sh $(HOST) $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Browser tests need Debian's chromium; installing it with apt-get (about 20 s)..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: install chromium lint
	$(BIN)/pytest -q

test-pg: install chromium
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -q

clean:
	rm -rf $(VENV) instance test-artifacts
