# Revincula: `make demo` sets up and serves the app; `make test` sets up and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup chromium lint format serve bench clean

demo: setup
	$(VENV)/bin/revincula territory check
	@echo "Abra http://$(HOST):$(PORT)/ en su navegador (funciona sin internet)."
	$(VENV)/bin/revincula serve --host $(HOST) --port $(PORT)

test: setup chromium lint
	$(PY) -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Debian's Chromium for the real-browser tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Instalando chromium desde Debian (pruebas en navegador real)..."; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	@for f in bench/*.py; do [ -e "$$f" ] && $(PY) "$$f"; done; true

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
