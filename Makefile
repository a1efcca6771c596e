# Pierre — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
PLUGINS := $(wildcard plugins/*/setup.cfg)
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: a2a03 run test lint bench install install-systemd clean services mcp2

run: $(STAMP)
	$(VENV)/bin/pierre serve --config config/pierre.toml

test: $(TEST_STAMP) mcp2 a2a03 services
	sh tests/dashboard/ensure_chromium.sh
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check pierre plugins tests
	$(VENV)/bin/mypy pierre $(patsubst %/__init__.py,%,$(wildcard plugins/*/pierre_*/__init__.py))

bench: $(TEST_STAMP) services
	$(PY) tests/bench/run_all.py

install: $(STAMP)

# Core + every plugin distribution, editable. Re-runs when metadata changes. Build isolation is
# off: the venv already has the build backend, and six isolated builds cost most of the install.
$(STAMP): setup.cfg pyproject.toml $(PLUGINS)
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11+)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -U "pip>=24" "setuptools>=68" wheel
	$(PIP) install --no-build-isolation -e . $(foreach p,$(PLUGINS),-e $(dir $(p)))
	@touch $@

# The test extras on top (clients, schemathesis, selenium, linters).
$(TEST_STAMP): $(STAMP)
	$(PIP) install --no-build-isolation -e ".[test]"
	@touch $@

# The A2A 0.3 client (a2a-sdk<1) conflicts with 1.x, so it gets its own venv.
a2a03: .venv-a2a03/.installed
.venv-a2a03/.installed:
	test -x .venv-a2a03/bin/python || $(PYTHON) -m venv .venv-a2a03
	.venv-a2a03/bin/python -m pip --disable-pip-version-check -q install "a2a-sdk<1" httpx
	@touch $@

# In CI (CI=true) start PostgreSQL and Redis when they are down; their tests never skip there.
services:
	@if [ "$${CI:-}" = "true" ]; then bash tests/start_services.sh; fi

install-systemd:
	bash systemd/install.sh

clean:
	rm -rf $(VENV) .venv-* build *.egg-info

# The official MCP SDK 2.x (Streamable HTTP client) in its own venv: the repo venv pins 1.x.
mcp2: .venv-mcp2/.installed
.venv-mcp2/.installed:
	test -x .venv-mcp2/bin/python || $(PYTHON) -m venv .venv-mcp2
	.venv-mcp2/bin/python -m pip --disable-pip-version-check -q install "mcp>=2,<3"
	@touch $@
