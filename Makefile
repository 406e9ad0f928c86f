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

# Swagger UI for /api/v1/schema/swagger and the cloud's /schema/swagger, served by the servers
# themselves (a store LAN has no CDN). Taken from the npm registry at install time, never at
# run time, and not committed (it is 3 MB of minified JS).
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_DIR     := webui/vendor/swagger-ui
SWAGGER_UI         := $(SWAGGER_UI_DIR)/.version-$(SWAGGER_UI_VERSION)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "NovaPOS needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(SWAGGER_UI):
	@command -v npm >/dev/null || { echo "npm is needed to fetch Swagger UI (apt-get install npm)" >&2; exit 1; }
	@rm -rf $(SWAGGER_UI_DIR) && mkdir -p $(SWAGGER_UI_DIR)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
	   tar -xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz) && \
	  cp "$$tmp"/package/swagger-ui-bundle.js "$$tmp"/package/swagger-ui-standalone-preset.js \
	     "$$tmp"/package/swagger-ui.css "$$tmp"/package/LICENSE "$(SWAGGER_UI_DIR)/"
	@touch $@

# Apache ECharts for the HQ dashboard's charts (heatmap built in), same rules as Swagger UI:
# from the npm registry at install time, pinned, served by the cloud hub from webui/vendor.
ECHARTS_VERSION := 5.6.0
ECHARTS_DIR     := webui/vendor/echarts
ECHARTS         := $(ECHARTS_DIR)/.version-$(ECHARTS_VERSION)

$(ECHARTS):
	@command -v npm >/dev/null || { echo "npm is needed to fetch ECharts (apt-get install npm)" >&2; exit 1; }
	@rm -rf $(ECHARTS_DIR) && mkdir -p $(ECHARTS_DIR)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent echarts@$(ECHARTS_VERSION) >/dev/null && \
	   tar -xzf echarts-$(ECHARTS_VERSION).tgz) && \
	  cp "$$tmp"/package/dist/echarts.min.js "$$tmp"/package/LICENSE "$(ECHARTS_DIR)/"
	@touch $@

VENDOR := $(SWAGGER_UI) $(ECHARTS)

install: $(STAMP) $(VENDOR)

run: $(STAMP) $(VENDOR)
	$(BIN)/novapos-edge serve --demo --host $(HOST) --port $(PORT)

# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
test: $(STAMP) $(VENDOR)
	@$(BIN)/pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: $(STAMP)
	@set -e; for f in tests/bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(SWAGGER_UI_DIR) $(ECHARTS_DIR) .novapos-demo .pytest_cache .ruff_cache *.egg-info test-artifacts
