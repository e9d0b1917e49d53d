# Two commands set up a fresh machine: `make demo` runs Salvo end to end on the embedded broker,
# `make test` passes the tests. Both install what they need into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench chaos lint clean system-deps

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,train,accurate]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/salvo demo --once

# Real Prometheus / Alertmanager servers for the tests that need them (Debian packages).
system-deps:
	@command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; }

test: install system-deps
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/pytest -q -m bench tests/bench -p no:cacheprovider -o addopts=''

# Crash tests: seeded kill -9 of the worker during long replays (tests/e2e/test_crash_exact.py), minutes each.
chaos: install
	$(BIN)/pytest -q -m chaos tests -p no:cacheprovider -o addopts=''

clean:
	rm -rf $(VENV) .salvo build *.egg-info
