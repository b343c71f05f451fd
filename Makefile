# Targetline: `make run` starts everything on the embedded default, `make test` runs the suite.
# Both are safe to re-run: each step is skipped when its result is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
PYTEST_ARGS ?=
export PORT

# Debian packages the test suite uses: Chromium for chart images (kaleido) and browser tests,
# WeasyPrint's libraries and fonts for PDFs, poppler-utils to look inside PDFs.
DEB_TEST_PACKAGES ?= chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 \
	libharfbuzz0b fontconfig poppler-utils

.PHONY: run test lint bench venv deb-test-packages mlflow-reference clean distclean

run: venv
	$(BIN)/python manage.py quickstart
	exec scripts/run.sh

test: venv deb-test-packages mlflow-reference
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Every benchmark, or one: `make bench BENCH=ingest` (ingest, sdk, mlflow, reports, web, load).
# Each prints Markdown; with DATABASE_URL set they use PostgreSQL (databases of their own).
BENCH ?= ingest sdk mlflow reports web load
bench: venv
	@for b in $(BENCH); do \
		case $$b in \
			ingest)  cmd="$(BIN)/python -m benchmarks.ingest" ;; \
			sdk)     cmd="$(BIN)/python -m benchmarks.sdk" ;; \
			mlflow)  cmd="$(BIN)/python -m benchmarks.mlflow" ;; \
			reports) cmd="$(BIN)/python -m benchmarks.reports" ;; \
			web)     cmd="$(BIN)/python -m benchmarks.web" ;; \
			load)    cmd="$(BIN)/python -m benchmarks.load" ;; \
			*) echo "unknown benchmark '$$b' (ingest, sdk, mlflow, reports, web, load)" >&2; \
			   exit 2 ;; \
		esac; \
		echo "## $$b: $$cmd"; \
		$$cmd || exit $$?; \
		echo; \
	done

venv: $(STAMP)

# The virtualenv. A failed `python3 -m venv` (Debian without python3-venv) leaves a half-made
# folder behind, so it is removed again and the next run starts clean.
$(BIN)/pip:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Targetline needs Python >= 3.11 as '$(PYTHON)' (set PYTHON=/path/to/python3.11)." >&2; \
		exit 1; }
	@$(PYTHON) -m venv $(VENV) || { \
		rm -rf $(VENV); \
		echo >&2; \
		echo "Could not create $(VENV) with '$(PYTHON) -m venv'. On Debian/Ubuntu install venv:" >&2; \
		echo "    sudo apt-get install -y python3-venv" >&2; \
		exit 1; }

# Install (again) only when pyproject.toml (or the SDK's) is newer than the last install.
$(STAMP): pyproject.toml $(wildcard sdk/pyproject.toml) | $(BIN)/pip
	$(BIN)/pip install --disable-pip-version-check -e '.[test,demo]'
	@if [ -f sdk/pyproject.toml ]; then \
		echo "$(BIN)/pip install -e sdk"; \
		$(BIN)/pip install --disable-pip-version-check -e sdk; \
	fi
	@touch $@

# A real `mlflow server` 3.17 in a virtualenv of its own, for the tests that compare
# Targetline's MLflow API with it (tests/mlflow_reference.py): a full mlflow's own pins must
# not meet the project's .venv.
MLFLOW_REFERENCE := .mlflow-reference
mlflow-reference: $(MLFLOW_REFERENCE)/.installed

$(MLFLOW_REFERENCE)/.installed:
	@rm -rf $(MLFLOW_REFERENCE)
	$(PYTHON) -m venv $(MLFLOW_REFERENCE)
	$(MLFLOW_REFERENCE)/bin/pip install --disable-pip-version-check -q 'mlflow==3.17.*'
	@touch $@

# Installs missing packages with apt as root or through sudo; `dpkg -s` makes re-runs instant.
deb-test-packages:
	@if ! command -v dpkg >/dev/null; then \
		echo "Not a Debian-based system: make sure these are installed: $(DEB_TEST_PACKAGES)"; \
		exit 0; \
	fi; \
	missing=""; \
	for pkg in $(DEB_TEST_PACKAGES); do \
		dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null; then sudo="sudo"; \
	else \
		echo "WARNING: missing Debian packages:$$missing (tests that need them will fail)." >&2; \
		echo "         As root: apt-get install -y$$missing" >&2; \
		exit 0; \
	fi; \
	echo "Installing Debian packages the tests need:$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing || { \
		echo "WARNING: apt-get could not install:$$missing (tests that need them will fail)." >&2; \
	}

clean:
	rm -rf .pytest_cache .ruff_cache build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Everything `make run` created, the database and the admin password included. No questions asked.
distclean: clean
	rm -rf var $(VENV) $(MLFLOW_REFERENCE)
