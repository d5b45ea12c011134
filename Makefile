# The two commands of README: `make demo` and `make test`. Everything installs into ./.venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint ui serve bench clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("shaoxing-ops needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

## demo: simulate ~60 days of the province and load every table through Dagster (embedded SQLite default)
demo: install
	$(BIN)/shaoxing-ops demo

## test: the whole test suite on every core (PostgreSQL/MariaDB tests skip, and say so, where no server answers)
test: install
	$(BIN)/python -m pytest -n auto --dist worksteal

lint: install
	$(BIN)/ruff check shaoxing_ops shaoxing_ops_tests bench
	$(BIN)/ruff format --check shaoxing_ops shaoxing_ops_tests bench
	$(BIN)/mypy
	home=$$(mktemp -d) && cp shaoxing_ops/embedded_instance.yaml $$home/dagster.yaml && DAGSTER_HOME=$$home VIRTUAL_ENV=$(CURDIR)/$(VENV) SXOPS_DATA_DIR=$$home/data \
	  $(BIN)/dg check defs --target-path $(CURDIR); status=$$?; rm -rf "$$home"; exit $$status

## ui: the Dagster UI and daemon on the demo's data, http://127.0.0.1:3000 (`dg dev`, run in the instance's
## folder so Dagster takes the dagster.yaml there and no other)
ui: install
	home=$${DAGSTER_HOME:-$(CURDIR)/var/dagster} && DAGSTER_HOME="$$home" $(BIN)/python -c \
	  'from shaoxing_ops.commands.shared import ensure_dagster_home; ensure_dagster_home()' && \
	  cd "$$home" && DAGSTER_HOME="$$home" VIRTUAL_ENV=$(CURDIR)/$(VENV) \
	  SXOPS_DATA_DIR=$${SXOPS_DATA_DIR:-$(CURDIR)/var/data} SXOPS_SIMULATION=$${SXOPS_SIMULATION:-1} \
	  $(CURDIR)/$(BIN)/dg dev -w $(CURDIR)/workspace.yaml

## serve: the production set behind nginx with log-in (README, "Access control"); users: shaoxing-ops serve user add
serve: install
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/var/dagster} $(BIN)/shaoxing-ops serve

bench: install
	$(BIN)/python bench/exchange.py
	$(BIN)/python bench/stats.py

clean:
	rm -rf var
