# Revincula: `make demo` sets up and serves the app; `make test` sets up and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup chromium pdflibs lint format serve bench clean

demo: setup pdflibs
	$(VENV)/bin/revincula territory check
	$(VENV)/bin/revincula db upgrade
	$(VENV)/bin/revincula demo seed --si-vacia
	$(VENV)/bin/revincula demo users
	@echo "Abra http://$(HOST):$(PORT)/ en su navegador (funciona sin internet)."
	$(VENV)/bin/revincula serve --host $(HOST) --port $(PORT)

# The suite runs every store test on SQLite and on the PostgreSQL at 127.0.0.1 (it creates
# and drops its own database), and runs jobs through the Redis at 127.0.0.1 with a real RQ
# worker; REVINCULA_REQUIRE_PG=1 / REVINCULA_REQUIRE_REDIS=1 make a missing server a failure.
test: setup chromium pdflibs lint
	REVINCULA_REQUIRE_PG=1 REVINCULA_REQUIRE_REDIS=1 $(PY) -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Pango, HarfBuzz-Subset (font subsetting; WeasyPrint warns without it) and a font for the PDF
# reports (WeasyPrint draws with them; no browser involved); poppler-utils' pdftotext reads
# the reports' text back in the tests.
pdflibs:
	@command -v pdftotext >/dev/null 2>&1 && /sbin/ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 && \
	  /sbin/ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset && fc-list 2>/dev/null | grep -qi dejavu || { \
	  echo "Instalando Pango y fuentes DejaVu desde Debian (informes PDF)..."; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 \
	    libharfbuzz-subset0 poppler-utils fonts-dejavu-core fontconfig >/dev/null; }

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

# Valhalla (pyvalhalla) only ships Python 3.12 wheels with its tile builders:
# the routing benchmark runs it in its own 3.12 virtualenv when one can be made.
PYTHON312 ?= $(shell for p in $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null) $$(command -v python3.12); do "$$p" -V >/dev/null 2>&1 && echo "$$p" && break; done)
VALHALLA_VENV := bench/.venv-valhalla

$(VALHALLA_VENV)/bin/python:
	@if [ -n "$(PYTHON312)" ]; then \
		$(PYTHON312) -m venv $(VALHALLA_VENV) && $(VALHALLA_VENV)/bin/pip install -q pyvalhalla; \
	else echo "Sin python3.12: el benchmark corre sin Valhalla."; fi

bench: setup $(VALHALLA_VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/intake.py
	$(PY) bench/geocode.py
	$(PY) bench/planning.py
	$(PY) bench/load.py
	$(PY) bench/travel.py $(if $(wildcard $(VALHALLA_VENV)/bin/python),--valhalla-python $(VALHALLA_VENV)/bin/python)

clean:
	rm -rf $(VENV) $(VALHALLA_VENV) build .pytest_cache .ruff_cache
