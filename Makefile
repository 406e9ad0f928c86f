# NovaPOS — `make run` starts the demo store, `make test` runs the test suite.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8080
PYTEST_ARGS ?=

.PHONY: run test bench lint install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "NovaPOS needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/novapos-edge serve --demo --host $(HOST) --port $(PORT)

# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
test: $(STAMP)
	@$(BIN)/pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: $(STAMP)
	@set -e; for f in tests/bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .novapos-demo .pytest_cache .ruff_cache *.egg-info test-artifacts
