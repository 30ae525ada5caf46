# Two commands: `make run` runs the whole system, `make test` runs every check and test.
PYTHON ?= python3.11
UV_VERSION := 0.13.8
UV := .uv/bin/uv
BIN := .venv/bin
export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test lint typecheck pytest contracts bench screenshots clean

.uv/bin/uv:
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: .uv/bin/uv uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: .venv/.synced ## create the virtual environment and install the locked dependencies

run: install ## start the embedded broker and the three services on SQLite (Ctrl-C stops all)
	$(BIN)/mutualaid run $(RUN_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install
	@command -v chromium >/dev/null || { echo "the browser tests need Debian's chromium package: apt-get install chromium"; exit 1; }
	@command -v docker-compose >/dev/null || { echo "the deployment tests need Debian's docker-compose package: apt-get install docker-compose"; exit 1; }
	$(BIN)/pytest -n 6  # the tests mostly wait on consumer-group joins and stack starts: with four workers two cores sat a third idle

test: lint typecheck pytest ## ruff, import contracts, mypy and every test (unit, integration, end-to-end)

contracts: install ## regenerate contracts/ from the code
	$(BIN)/mutualaid contracts

bench: install ## submit-to-PROPOSED latency benchmark against the real stack
	$(BIN)/python benchmarks/latency.py

screenshots: install ## the browser tests, saving the console's main pages as PNGs in docs/screenshots (for the README)
	CONSOLE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/browser

clean:
	rm -rf .venv .uv var .pytest_cache .mypy_cache .ruff_cache
