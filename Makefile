# kaffe: every target a new machine needs. `make help` lists them.
# `make test` and `make demo` are the two commands the README promises work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Kafka line used by the local broker: 4.1 (default) or 3.9.
KAFKA_LINE ?= 4.1
export KAFKA_LINE
export PYTHONPATH := $(CURDIR)/tools$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_ARGS ?=

.PHONY: help venv build lint fmt cargo-test pytest test demo kafka-fetch broker-up broker-down \
        bench-records clean codegen codegen-check stubtest bench-produce bench-consume

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(VENV)/.stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp ## create .venv with the pinned tools (cached by pip)

build: venv ## build kaffe._core in release mode into .venv
	$(VENV)/bin/maturin develop --release --quiet

lint: venv ## ruff, mypy --strict, cargo fmt --check, cargo clippy -D warnings
	$(VENV)/bin/ruff check python tests tools benches examples
	$(VENV)/bin/ruff format --check python tests tools benches examples
	$(VENV)/bin/mypy
	cargo fmt --all -- --check
	PYO3_PYTHON=$(CURDIR)/$(PY) cargo clippy --workspace --all-targets --quiet -- -D warnings

fmt: venv ## format Python and Rust in place
	$(VENV)/bin/ruff format python tests tools benches examples
	$(VENV)/bin/ruff check --fix python tests tools benches examples
	cargo fmt --all

stubtest: build ## check python/kaffe/_core.pyi against the built native module
	$(PY) -m mypy.stubtest kaffe._core

cargo-test: ## pure-Rust tests (no Python needed)
	cargo test -p kaffe-core --release --quiet

codegen: venv ## regenerate rust/kaffe-core/src/protocol/generated from the pinned kafka-clients jar
	$(PY) -m codegen

codegen-check: venv ## fail if the committed protocol tables drifted from the pinned specs
	$(PY) -m codegen --check

kafka-fetch: venv ## download the pinned Kafka jars through Maven (cached in ~/.cache/kaffe)
	$(PY) -m kafka_harness fetch

pytest: build kafka-fetch ## the pytest suite; fixtures start and stop real brokers
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint codegen-check cargo-test stubtest pytest ## everything: lint, cargo test, pytest against real brokers

demo: build kafka-fetch ## start the local broker and move real messages through kaffe
	$(PY) examples/demo.py

broker-up: build kafka-fetch ## start a single-node broker in the background (for poking around)
	$(PY) -m kafka_harness up

broker-down: venv ## stop the broker started by broker-up
	$(PY) -m kafka_harness down

bench-records: build ## record-batch encode/decode throughput against aiokafka and kafka-python
	$(PY) benches/records.py

bench-produce: build kafka-fetch ## produce throughput against confluent-kafka, aiokafka, kafka-python, Java
	$(PY) benches/produce.py

bench-consume: build kafka-fetch ## consume throughput against confluent-kafka, aiokafka, kafka-python, Java
	$(PY) benches/consume.py

# BENCH_ARGS: e.g. BENCH_ARGS="--only 1,9-13,latency --repeat 1" (see benches/workloads.py --help)
BENCH_ARGS ?=
.PHONY: bench
bench: build kafka-fetch ## every application workload (issues 8, 14) vs confluent-kafka, aiokafka, kafka-python; < 15 min
	$(PY) benches/workloads.py $(BENCH_ARGS)

clean: ## remove build output and the virtualenv (download caches are kept)
	rm -rf $(VENV) target .pytest_cache .mypy_cache .ruff_cache .hypothesis
