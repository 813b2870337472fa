# cxloop — every habit is one short command. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: setup run test test-fast test-deps browser-deps lint fmt typecheck bench migrations-check check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cxloop needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

## run: set up, migrate, load demo data into an empty database, serve on http://127.0.0.1:$(PORT)
run: setup
	$(BIN)/cxloop migrate --noinput -v0
	$(BIN)/cxloop collectstatic --noinput -v0
	$(BIN)/cxloop demo --if-empty
	$(BIN)/cxloop serve --port $(PORT)

## test-deps: Debian's chromium (Playwright tests) and Dovecot (the IMAP mailbox of the email tests)
test-deps:
	@command -v chromium >/dev/null 2>&1 && test -x /usr/lib/dovecot/dovecot-lda || { \
	  echo "Installing Debian's chromium and dovecot-imapd for the tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium dovecot-imapd >/dev/null; }

browser-deps: test-deps

## test: set up and run the whole suite (DATABASE_URL selects PostgreSQL; SQLite otherwise)
test: setup test-deps
	env -u DATABASE_URL $(BIN)/cxloop makemigrations --check --dry-run -v0
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not browser" -x -q

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

fmt: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: setup
	$(BIN)/mypy src/cxloop

migrations-check: setup
	$(BIN)/cxloop makemigrations --check --dry-run

check: lint typecheck migrations-check
	CXLOOP_HTTPS=true SECRET_KEY=check-only-$$(date +%s)-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP \
	  ALLOWED_HOSTS=cx.example.com $(BIN)/cxloop check --deploy --fail-level WARNING

## bench: the benchmarks of docs/benchmarks.md (BENCH_SIZE=large for the 1M/10M PostgreSQL run)
bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var/static .pytest_cache .mypy_cache .ruff_cache
