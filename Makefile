# Two commands on a fresh machine: `make report` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := data/demo/.complete
# The HTML tests render pages in headless Chromium (Debian's `chromium` package).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: report test demo lint bench chromium clean-venv

# Create the venv and install the project when missing or when the dependency list changed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo client's exports (seeded, so the same every time).
$(DEMO): $(STAMP) cxlib/demo.py
	$(BIN)/cxlib demo --out data/demo

demo: $(DEMO)

report: $(DEMO)
	$(BIN)/cxlib report clients/demo.yaml

test: $(DEMO) $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

chromium: $(CHROMIUM)

lint: $(STAMP)
	$(BIN)/ruff check cxlib tests benchmarks notebooks

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean-venv:
	rm -rf $(VENV)
