# «Покупай выгодно» lab. Two commands on a fresh machine: `make lab` and `make test`.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider
NBVAL := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout 600

.PHONY: lab test unit unit-java integration nbval lint bootstrap up down clean jupyter status bench

lab: bootstrap  ## set everything up, then run every notebook with papermill
	$(BIN)/pokupai lab

test: bootstrap lint unit unit-java integration nbval  ## set everything up and pass every test

lint: $(STAMP)
	$(BIN)/ruff check pokupai_lib tests bench
	$(BIN)/mypy pokupai_lib

unit: $(STAMP)
	$(PYTEST) tests/unit

unit-java:  ## the Connect sink plugin's JUnit tests (no services)
	mvn -B -q -f infra/connect/es-sink/pom.xml test

integration: bootstrap
	@rm -f .lab/logs/pytest-crash.log
	$(PYTEST) tests/integration || { status=$$?; if [ -s .lab/logs/pytest-crash.log ]; then \
		echo "pytest crashed; each thread's stack:"; cat .lab/logs/pytest-crash.log; fi; \
		exit $$status; }

nbval: bootstrap
	$(PYTEST) $(NBVAL) notebooks

bootstrap: $(STAMP)  ## tools check, JVM artifacts, certificates (idempotent)
	$(BIN)/pokupai bootstrap

$(STAMP): pyproject.toml
	@$(PY) pokupai_lib/runtime/preflight.py
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

up: bootstrap
	$(BIN)/pokupai up

status:
	@$(BIN)/pokupai status

down:  ## stop everything, keep data
	@if [ -x $(BIN)/pokupai ]; then $(BIN)/pokupai down; fi

clean: down  ## remove lab state (data, logs, pid files, certificates, run outputs)
	rm -rf .lab runs
	find certs -mindepth 1 ! -name README.md -exec rm -rf {} +

# IPC kernels: over TCP ipykernel warns at every start that the traffic is unencrypted.
# JupyterLab refuses to start as root unless told it may.
jupyter: bootstrap  ## JupyterLab on 127.0.0.1 over the notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --no-browser \
		--KernelManager.transport=ipc $(if $(filter 0,$(shell id -u)),--allow-root)

bench: bootstrap  ## measure startup, throughput, freshness, search and recommendation latency, alert delay, the whole platform under load, moderation into bench/results.md
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null || \
		{ echo "wrk is needed for the search load test: apt-get install wrk"; exit 1; }
	cd bench && ../$(BIN)/python cluster_startup.py && ../$(BIN)/python pipeline_throughput.py \
		&& ../$(BIN)/python search_latency.py && ../$(BIN)/python search_open_loop.py && ../$(BIN)/python recommendations_alerting.py \
		&& ../$(BIN)/python filter_faults.py && ../$(BIN)/python service_memory.py \
		&& ../$(BIN)/python end_to_end.py && ../$(BIN)/python moderation.py
