# The two quick-start commands: `make run` and `make test` (see README.md).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1:8000
EXAMPLE ?= examples/hello-tools

.PHONY: run test lint format setup schema

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Migrate the SQLite database under SKILLMEAT_HOME, make the admin account, import the
# example plugin, and serve the site on $(HOST).
run: export DEBUG ?= 1
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py import_plugin $(EXAMPLE)
	$(PY) manage.py runserver $(HOST)

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Regenerate the committed OpenAPI schema (CI fails when it is stale).
schema: $(STAMP)
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file openapi.yaml

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
