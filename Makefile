# Entry points: `make run` and `make test` (README). Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# tests/federation's Node packages (composers, Hive Gateway), installed from the lockfile.
FED       := tests/federation
FED_STAMP := $(FED)/node_modules/.installed

.PHONY: install federation-deps run emulate test fuzz lint schema bench clean

install: $(STAMP)

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

run: install
	$(PY) -m app

emulate: install
	$(PY) -m app emulate

test: install $(FED_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# A long random fuzz run (tests/fuzz): FUZZ_EXAMPLES per strategy, over 10,000 inputs.
fuzz: install
	FUZZ_PROFILE=long FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1500} $(PY) -m pytest tests/fuzz -p no:randomly -q

lint: install
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/mypy

schema: install
	$(PY) -m app export-schema > schema.graphql

# Benchmarks (bench/README.md): installs its own tools, writes bench/RESULTS.md; ~8 min.
bench: install
	bash bench/run.sh $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(FED)/node_modules
