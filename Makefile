# Fresh clone: `make demo` or `make test`; nothing else is needed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test lint typecheck docs protos check-protos bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/quickstart.py

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check etcd3py testserver tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict etcd3py

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

protos:
	$(PYTHON) scripts/gen_protos.py

check-protos:
	$(PYTHON) scripts/gen_protos.py --check

clean:
	rm -rf $(VENV) .venv-protoc site build *.egg-info
