# Targetline: `make run` starts everything on the embedded default, `make test` runs the suite.
# Both are safe to re-run: each step is skipped when its result is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What each target installed, and when: `make run` the server and the demo, `make test` also
# the test tools (pytest, ruff, playwright, mlflow…), so neither reinstalls after the other.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PORT ?= 8000
PYTEST_ARGS ?=
export PORT

# Debian packages the server uses: Chromium for the reports' chart images (kaleido),
# WeasyPrint's libraries and fonts for PDFs. The test suite adds poppler-utils to look inside
# PDFs (and uses Chromium for browser tests).
DEB_RUN_PACKAGES ?= chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 \
	libharfbuzz0b fontconfig
DEB_TEST_PACKAGES ?= $(DEB_RUN_PACKAGES) poppler-utils

.PHONY: run test lint bench venv test-venv deb-run-packages deb-test-packages mlflow-reference \
	clean distclean

run: venv deb-run-packages
	$(BIN)/python manage.py quickstart
	exec scripts/run.sh

test: test-venv deb-test-packages mlflow-reference
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: test-venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Every benchmark, or one: `make bench BENCH=ingest` (ingest, sdk, mlflow, reports, web, load,
# scale: 100,000 runs and 100 million points, about 15 minutes and 3 GB of disk).
# Each prints Markdown; with DATABASE_URL set they use PostgreSQL (databases of their own).
BENCH ?= ingest sdk mlflow reports web load
bench: test-venv
	@for b in $(BENCH); do \
		case $$b in \
			ingest)  cmd="$(BIN)/python -m benchmarks.ingest" ;; \
			sdk)     cmd="$(BIN)/python -m benchmarks.sdk" ;; \
			mlflow)  cmd="$(BIN)/python -m benchmarks.mlflow" ;; \
			reports) cmd="$(BIN)/python -m benchmarks.reports" ;; \
			web)     cmd="$(BIN)/python -m benchmarks.web" ;; \
			load)    cmd="$(BIN)/python -m benchmarks.load" ;; \
			scale)   cmd="$(BIN)/python -m benchmarks.scale" ;; \
			*) echo "unknown benchmark '$$b' (ingest, sdk, mlflow, reports, web, load, scale)" >&2; \
			   exit 2 ;; \
		esac; \
		echo "## $$b: $$cmd"; \
		$$cmd || exit $$?; \
		echo; \
	done

venv: $(RUN_STAMP)
test-venv: $(TEST_STAMP)

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
# What running needs: the server, the SDK and the demo's training script.
$(RUN_STAMP): pyproject.toml $(wildcard sdk/pyproject.toml) | $(BIN)/pip
	$(BIN)/pip install --disable-pip-version-check -e '.[demo]'
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

# The test tools on top: pip finds the rest already there.
$(TEST_STAMP): pyproject.toml $(RUN_STAMP)
	$(BIN)/pip install --disable-pip-version-check -e '.[test,demo]'
	@touch $@

# Installs missing Debian packages with apt as root or through sudo; `dpkg -s` makes re-runs
# instant. $(1): the packages; $(2): what is missing without them, for the warning.
define install_deb_packages
	@if ! command -v dpkg >/dev/null; then \
		echo "Not a Debian-based system: make sure these are installed: $(1)"; \
		exit 0; \
	fi; \
	missing=""; \
	for pkg in $(1); do \
		dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null; then sudo="sudo"; \
	else \
		echo "WARNING: missing Debian packages:$$missing ($(2)); as root: apt-get install -y$$missing" >&2; \
		exit 0; \
	fi; \
	echo "Installing Debian packages:$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing || { \
		echo "WARNING: apt-get could not install:$$missing ($(2))." >&2; \
	}
endef

deb-run-packages:
	$(call install_deb_packages,$(DEB_RUN_PACKAGES),reports need them for charts and PDFs; once installed they work without a restart)

deb-test-packages:
	$(call install_deb_packages,$(DEB_TEST_PACKAGES),tests that need them will fail)

clean:
	rm -rf .pytest_cache .ruff_cache build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Everything `make run` created, the database and the admin password included. No questions asked.
distclean: clean
	rm -rf var $(VENV) $(MLFLOW_REFERENCE)
