# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv and install
# what they need; nothing else has to be set up by hand.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install install-dev system-deps lint typecheck pytest bench bench-hub schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# clkhash pins mypy_extensions<0.5 and cryptography<41, which would drag mypy and the hub's
# cryptography back years; it works with current versions, so it is installed without its pins.
CLKHASH := clkhash==0.18.3

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --editable .
	$(PIP) install --quiet --no-deps $(CLKHASH)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --editable '.[dev]'
	$(PIP) install --quiet --no-deps $(CLKHASH)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/ctip demo

lint: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: install-dev
	$(BIN)/mypy

# Browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

pytest: install-dev system-deps
	$(BIN)/pytest

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python bench/ingest.py

bench-hub: install-dev
	$(BIN)/python bench/hub.py

schema: install-dev
	$(BIN)/python scripts/build_htcds_schema.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache ctip-workspace
