# ts_archiver developer commands. Every target bootstraps what it needs.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help bootstrap demo test test-fast lint format doc bench kafka-up kafka-down clean

help:
	@echo "make demo   - run the Archiver end to end on the embedded default (./demo/)"
	@echo "make test   - set up everything, lint, and run the whole test suite"
	@echo "make test-fast - the tests not marked integration (no servers, no other processes; < 2 min)"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - run the benchmarks in benchmarks/"
	@echo "make doc    - build the Sphinx documentation"
	@echo "make kafka-up / kafka-down - local Kafka-protocol broker + development schema registry (see doc/kafka.rst)"

bootstrap:
	@tools/bootstrap.sh

demo: bootstrap
	$(PY) bin/archiver_demo

lint: bootstrap
	$(VENV)/bin/ruff check python tests bin benchmarks
	$(VENV)/bin/ruff format --check python tests benchmarks
	$(VENV)/bin/mypy python/lsst

format: bootstrap
	$(VENV)/bin/ruff format python tests benchmarks
	$(VENV)/bin/ruff check --fix python tests bin benchmarks

# Two pytest-xdist workers for the whole suite too (each starts its own servers on free
# ports): 8.5 min instead of about 16 on a quiet 2-core machine.
test: lint
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --durations=25

# Two pytest-xdist workers: the fast tests wait on heartbeats and commands as much as they compute.
test-fast: bootstrap
	$(VENV)/bin/pytest -q -p no:cacheprovider -m "not integration" -n 2

bench: bootstrap
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

doc: bootstrap
	$(VENV)/bin/python -m pip install -q sphinx
	$(VENV)/bin/sphinx-build -q -b html doc doc/_build/html

kafka-up: bootstrap
	$(PY) bin/salkit_kafka --dir .kafka up

kafka-down: bootstrap
	$(PY) bin/salkit_kafka --dir .kafka down

clean:
	rm -rf $(VENV) demo doc/_build .mypy_cache .ruff_cache
