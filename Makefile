# Entry points: `make run` and `make test` (README). Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# tests/federation's Node packages (composers, Hive Gateway), installed from the lockfile.
FED       := tests/federation
FED_STAMP := $(FED)/node_modules/.installed
# Debian's Chromium for the browser tests (tests/web), installed with apt-get when missing.
BROWSER_STAMP := $(VENV)/.chromium
# `make run PORT=9000`: the port to serve on (default: SWITCHBOARD_PORT, else 8000).
PORT ?=

.PHONY: install python-check federation-deps browser-deps web-assets screenshots supergraph \
	lock run emulate test fuzz lint schema bench clean

install: python-check $(STAMP)

# switchboard needs Python >= 3.11; a .venv made by an older one fails in odd places, so
# say it plainly (before making one, and for one made earlier).
python-check:
	@if [ -x $(PY) ]; then py=$(PY); else py=$$(command -v $(PYTHON)); fi; \
	if [ -z "$$py" ]; then echo "$(PYTHON) not found: install Python >= 3.11" >&2; exit 1; fi; \
	if ! $$py -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
		version=$$($$py -c 'import platform; print(platform.python_version())'); \
		if [ -x $(PY) ]; then \
			echo "$(VENV) was made by Python $$version; switchboard needs >= 3.11." >&2; \
			echo "Remove it and make it again: rm -rf $(VENV) && make PYTHON=python3.11" >&2; \
		else \
			echo "$(PYTHON) is Python $$version; switchboard needs >= 3.11: make PYTHON=python3.11" >&2; \
		fi; \
		exit 1; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

federation-deps: $(FED_STAMP)

# Without npm (a laptop without Node) the federation tests skip, saying why; under CI
# (CI set, not false/0) that is an error here already.
$(FED_STAMP): $(FED)/package.json $(FED)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "npm ci in $(FED)"; \
		cd $(FED) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
			&& touch node_modules/.installed; \
	else \
		case "$$CI" in \
			""|0|false|FALSE|False) echo "npm not found: the federation tests will skip";; \
			*) echo "npm not found: CI needs Node >= 20 and npm for $(FED)" >&2; exit 1;; \
		esac; \
	fi

browser-deps: $(BROWSER_STAMP)

# Only `chromium`: the tests drive it over the DevTools protocol, no chromedriver. Without
# it (not root, no apt-get) the browser tests skip, saying why; under CI that is an error.
$(BROWSER_STAMP): $(STAMP)
	@if command -v chromium >/dev/null 2>&1; then \
		touch $@; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "apt-get install chromium (browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium && touch $@; \
	else \
		case "$$CI" in \
			""|0|false|FALSE|False) echo "chromium not found: the browser tests will skip";; \
			*) echo "chromium not found: CI needs Debian's chromium (apt-get, as root)" >&2; exit 1;; \
		esac; \
	fi

# The pinned browser bundles (web/package-lock.json) copied into app/web/static/vendor/;
# the copies are committed, so only an upgrade needs this (then update the SRI hashes it
# prints in app/web/graphiql.html and app/web/static/wallboard/index.html).
web-assets:
	cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && node copy-assets.mjs

# The README's screenshots (docs/*.png), taken by the browser tests.
screenshots: install $(BROWSER_STAMP)
	SWITCHBOARD_SCREENSHOTS=docs $(PY) -m pytest -q -p no:randomly tests/web/test_browser.py \
		-k "held_within or example_query"

# docker-compose.yml's supergraph: schema.graphql composed (Apollo's composer) with the
# subgraph URL the compose file's instances answer to.
supergraph: install $(FED_STAMP)
	node $(FED)/compose.mjs switchboard http://switchboard:8000/graphql schema.graphql \
		| $(PY) -c 'import json, sys; c = json.load(sys.stdin)["apollo"]; \
			sys.exit(c["errors"]) if c["errors"] else print(c["supergraphSdl"].rstrip())' \
		> deploy/supergraph.graphql

# requirements.lock (the Docker image's dependencies, with hashes) from pyproject.toml,
# resolved in a clean virtualenv by pip-tools for Python 3.11 on Linux.
LOCK_VENV := /tmp/switchboard-lock-venv
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet pip-tools==7.6.2
	$(LOCK_VENV)/bin/pip-compile --quiet --strip-extras --generate-hashes --extra otel \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml
	rm -rf $(LOCK_VENV)

run: install
	$(PY) -m app $(if $(PORT),--port $(PORT))

emulate: install
	$(PY) -m app emulate

test: install $(FED_STAMP) $(BROWSER_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# A long random fuzz run (tests/fuzz): FUZZ_EXAMPLES per strategy, over 10,000 inputs.
fuzz: install
	FUZZ_PROFILE=long FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1500} $(PY) -m pytest tests/fuzz -p no:randomly -q

lint: install
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/mypy

# The SDL and Apollo Client's possibleTypes from it (README, "Front ends").
schema: install
	$(PY) -m app export-schema > schema.graphql
	$(PY) -m app.web.possible_types schema.graphql > possibleTypes.json

# Benchmarks (bench/README.md): installs its own tools, writes bench/RESULTS.md; ~15 min.
# Only some: `make bench BENCH="b3 b5"` (names: b1 b2 profile b3 b4 b5).
bench: install
	bash bench/run.sh $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(FED)/node_modules web/node_modules
