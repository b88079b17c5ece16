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

# The checkout's local settings: development mode and a secret key of its own.
.env:
	printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env

setup: $(STAMP) .env

# Migrate the SQLite database under SKILLMEAT_HOME, make the admin account, import the
# example plugin, and serve the site on $(HOST).
run: $(STAMP) .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py import_plugin $(EXAMPLE)
	$(PY) manage.py runserver $(HOST)

test: $(STAMP) .env
	bash scripts/system-packages.sh
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
