# Two entry points for a fresh machine: `make run` (the app) and `make test` (the test suite).
# Everything lives in a local virtual environment, .venv, made on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXAMPLE ?= netbuilder/resources/examples/lenet5.json

.PHONY: run test bench venv clean bundle install-desktop

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/netbuilder $(EXAMPLE)

test: venv
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider

bench: venv
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info
