# Jicai — set-up, demo and tests. Every target installs what it needs, so a fresh clone works.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := jicai/web/static/vendor
SCALE ?= small
SEED ?= 1
# The demo's today (YYYY-MM-DD); empty = today in Asia/Shanghai.
TODAY ?=

.PHONY: install assets migrate demo serve test test-fast test-fuzz lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP) assets

# Front-end packages come from npm (pinned in package.json) and are copied into a git-ignored folder.
assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/bootstrap/dist/css/bootstrap.min.css $(VENDOR)/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	touch $(VENDOR)/.stamp

migrate: install
	$(BIN)/jicai migrate

demo: install
	$(BIN)/jicai migrate
	$(BIN)/jicai demo --scale $(SCALE) --seed $(SEED) $(if $(TODAY),--today $(TODAY))
	$(BIN)/jicai serve --host 127.0.0.1 --port 8000

serve: install
	$(BIN)/jicai serve

# Browser tests need Debian's chromium; install it when missing (root, as on CI).
.PHONY: chromium
chromium:
	@command -v /usr/bin/chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei)

# `jicai national --engine spark` (and its tests) need a Java runtime: Debian's Java 17 when `java` is missing.
.PHONY: java
java:
	@command -v java >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless)

test: install chromium java
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: install java
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not browser"

# Schemathesis over every API operation for three roles (part of `make test` too; this runs it alone).
test-fuzz: install
	$(BIN)/python -m pytest -p no:xdist -m fuzz

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) data
