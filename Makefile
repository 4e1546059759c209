# Two commands on a fresh machine: `make report` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := data/demo/.complete
# The HTML tests render pages in headless Chromium (Debian's `chromium` package).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# JupyterLab refuses to start as root without this flag.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
# The code base is formatted and layered: `make lint` runs ruff check, import-linter's layer
# contract (pyproject.toml, [tool.importlinter]) and `ruff format --check`, and
# `make test` (so CI) runs `make lint` before the suite. FORMAT_CHECK=0 skips both.
FORMAT_CHECK ?= 1
LINT_PATHS := cxlib tests benchmarks notebooks docs/hooks.py

.PHONY: i18n report test demo lint format-check docs lab kernel wheel bench chromium clean-venv

# Create the venv and install the project when missing or when the dependency list changed.
# '.[dev]' includes the spark extra (pyspark, sqlglot): the Spark engine's tests start one local
# Spark session, which needs Java 17+ (`java -version`).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo client's exports (seeded, so the same every time).
$(DEMO): $(STAMP) $(wildcard cxlib/demo/*.py)
	$(BIN)/cxlib demo --out data/demo

demo: $(DEMO)

report: $(DEMO)
	$(BIN)/cxlib report clients/demo.yaml

# The suite includes tests/test_docs.py (the site builds without warnings). With FORMAT_CHECK=1,
# `make lint` (ruff check + ruff format --check) runs first.
test: $(DEMO) $(CHROMIUM) $(if $(filter 1,$(FORMAT_CHECK)),lint)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

chromium: $(CHROMIUM)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/lint-imports
ifeq ($(FORMAT_CHECK),1)
	$(BIN)/ruff format --check $(LINT_PATHS)
endif

format-check: $(STAMP)
	$(BIN)/ruff format --check $(LINT_PATHS)

# The user guide and API reference site, offline, into docs/site/ (open docs/site/index.html).
# Its gallery shows the newest finished demo report: run `make report` first to include it.
docs: $(STAMP)
	cd docs && NO_MKDOCS_2_WARNING=1 ../$(BIN)/mkdocs build --strict

# A Jupyter kernel named "cxlib" inside the venv (its sys-prefix), for JupyterLab and papermill.
kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name cxlib --display-name "cxlib"

# JupyterLab on the notebooks, with the cxlib kernel and the demo data.
lab: kernel $(DEMO)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks \
		--MappingKernelManager.default_kernel_name=cxlib $(ALLOW_ROOT)

# A wheel (with the notebooks inside) in dist/.
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

# The message catalogues (pybabel extract + update, with cxlib's notebook extractor): rewrites
# cxlib/locale/cxlib.pot and merges it into each language's .po; fails while a message has no
# translation or a fuzzy one. The .po files are read at run time (nothing to compile).
i18n: $(STAMP)
	$(BIN)/python -m cxlib.settings.catalogue

clean-venv:
	rm -rf $(VENV)
