# kaffe: every target a new machine needs. `make help` lists them.
# `make test` and `make demo` are the two commands the README promises work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The documentation tools (requirements-docs.txt), installed into .venv on first use.
DOCS_STAMP := $(VENV)/.docs-stamp
# Kafka line used by the local broker: 4.1 (default) or 3.9.
KAFKA_LINE ?= 4.1
export KAFKA_LINE
export PYTHONPATH := $(CURDIR)/tools$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_ARGS ?=

.PHONY: help venv build lint fmt cargo-test pytest test demo kafka-fetch broker-up broker-down \
        bench-records clean codegen codegen-check stubtest bench-produce bench-consume wheel sdist test-wheel \
        docs docs-check

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(VENV)/.stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp ## create .venv with the pinned tools (cached by pip)

build: venv ## build kaffe._core in release mode into .venv
	$(VENV)/bin/maturin develop --release --quiet

lint: venv $(DOCS_STAMP) ## ruff, mypy --strict (tools/docsite needs the docs tools), import layers (lint-imports), cargo fmt --check, cargo clippy -D warnings
	$(VENV)/bin/ruff check python tests tools benches examples
	$(VENV)/bin/ruff format --check python tests tools benches examples
	$(VENV)/bin/mypy
	PYTHONPATH=$(CURDIR)/python:$(PYTHONPATH) $(VENV)/bin/lint-imports
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

codegen: venv ## regenerate the Rust protocol tables and python/kaffe/_protocol from the pinned kafka-clients jar
	$(PY) -m codegen

codegen-check: venv ## fail if the committed generated protocol files drifted from the pinned jar
	$(PY) -m codegen --check

kafka-fetch: venv ## download the pinned Kafka jars through Maven (cached in ~/.cache/kaffe)
	$(PY) -m kafka_harness fetch

pytest: build kafka-fetch ## the pytest suite against the develop build (quick iteration)
	$(PY) -m pytest $(PYTEST_ARGS)

# Release artifacts (tools/wheelcheck). The wheel is abi3 (cp310-abi3) and manylinux_2_17,
# linked by zig (pinned ziglang), so no Docker image is needed; auditwheel checks the tag.
# WHEEL_TARGET / WHEEL_COMPAT pick another platform (DESIGN.md "Packaging, and cutting a release"
# says which ones build here and what stops the rest): WHEEL_TARGET=aarch64-unknown-linux-gnu;
# WHEEL_TARGET=x86_64-unknown-linux-musl WHEEL_COMPAT=musllinux_1_2;
# WHEEL_TARGET=aarch64-apple-darwin (or x86_64-apple-darwin) WHEEL_COMPAT=pypi.
WHEEL_TARGET ?= x86_64-unknown-linux-gnu
WHEEL_COMPAT ?= manylinux2014
export WHEEL_TARGET WHEEL_COMPAT

wheel: venv ## release wheel in dist/ (maturin --zig, auditwheel-checked; reused while sources are unchanged)
	$(PY) -m wheelcheck build

sdist: venv ## sdist in dist/, then installed (built from source) and imported in a fresh venv
	$(PY) -m wheelcheck sdist

# `make test` runs the whole pytest suite once, against the installed wheel (test-wheel), not
# twice (develop build and wheel): the suite is the slow part and CI has 2 cores. The develop
# build (`build`) still serves lint/stubtest and `make pytest`/`make demo`.
test-wheel: venv kafka-fetch ## wheel on Python 3.10-3.13 without Rust (imports, README, round trip); whole suite on the wheel
	$(PY) -m wheelcheck test $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

test: lint docs-check codegen-check cargo-test stubtest test-wheel ## everything: lint, docs, cargo test, stubtest, the suite against the installed wheel

# The documentation site (mkdocs.yml, docs/): the configuration pages are generated from the key
# tables in the code (tools/docsite), the API reference is read from python/kaffe's docstrings.
DOCS_ENV := PYTHONPATH=$(CURDIR)/python:$(PYTHONPATH) NO_MKDOCS_2_WARNING=1

$(DOCS_STAMP): requirements-docs.txt $(VENV)/.stamp
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-docs.txt
	touch $@

docs: build $(DOCS_STAMP) ## the documentation site in site/ (configuration pages regenerated; mkdocs build --strict)
	$(DOCS_ENV) $(PY) -m docsite.configpages
	$(DOCS_ENV) $(VENV)/bin/mkdocs build --strict

docs-check: build $(DOCS_STAMP) ## fail if a docs page drifted from the code, or the site has a warning
	$(DOCS_ENV) $(PY) -m docsite.configpages --check
	$(DOCS_ENV) $(VENV)/bin/mkdocs build --strict

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
bench: build kafka-fetch ## every application workload vs confluent-kafka, aiokafka, kafka-python; < 15 min
	$(PY) benches/workloads.py $(BENCH_ARGS)

# The fault scenarios (tools/faults): FAULTS_ARGS="--only leader-kill,reset-fetch" picks some;
# `make test` runs the short set as tests/integration/test_faults.py.
FAULTS_ARGS ?=
.PHONY: faults faults-short
faults: build kafka-fetch ## every fault scenario on a 3-node cluster behind fault proxies (minutes each); table, .faults/*.json
	$(PY) -m faults $(FAULTS_ARGS)

faults-short: build kafka-fetch ## the short fault scenarios (a leader kill, a reset mid-response, a blackhole), a few minutes
	$(PY) -m faults --short $(FAULTS_ARGS)

# make soak DURATION=60m SEED=42: the fault workload (tools/faults) for DURATION under seeded
# random faults, sampling the client processes; output in .soak/<time>-seed<SEED>/.
DURATION ?= 10m
SEED ?=
SOAK_ARGS ?=
.PHONY: soak
soak: build kafka-fetch ## fault workload for DURATION (10m) under random faults (SEED=); RSS/FDs/threads/tasks PNG + summary in .soak/
	$(PY) -m soak --duration $(DURATION) $(if $(SEED),--seed $(SEED)) $(SOAK_ARGS)

clean: ## remove build output and the virtualenv (download caches are kept)
	rm -rf $(VENV) target site .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
