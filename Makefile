# The commands people and CI share. `make run` and `make test` work on a fresh machine
# with only Python 3.11 and pip.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SERVE_CONFIG := configs/serve_config.yaml

# The local Ray head: GCS on 6380 (Redis holds 6379), dashboard 8265, metrics 8080, token
# auth with this checkout's own token, loopback only. See medinv_tools/cluster/local.py.
MEDINV := $(BIN)/medinv
# `make run HAPROXY=1`: HAProxy in front of the ingress instead of Serve's Python proxy.
START_FLAGS := $(if $(HAPROXY),--haproxy,)

# `make monitor`: Prometheus on 127.0.0.1:$(PROMETHEUS_PORT) scraping the head of `make run`.
PROMETHEUS_PORT ?= 9090

.PHONY: help install install-dev install-bench install-checkov run stop test fuzz lint bench \
	bench-swap bench-onnx bench-cameras migrate monitor monitor-stop prometheus chromium diagram chaos checkov

help:
	@echo "make run     install, start a local Ray head, deploy $(SERVE_CONFIG), wait until ready"
	@echo "make stop    stop what 'make run' and 'make monitor' started (by PID)"
	@echo "make monitor Prometheus on 127.0.0.1:$(PROMETHEUS_PORT) scraping the local Ray head"
	@echo "make migrate bring the inventory database schema up to date"
	@echo "make test    install test deps and run the test suite"
	@echo "make fuzz    a long seeded schemathesis run against the API; a table of what it found"
	@echo "make lint    ruff + mypy + import contracts (lint-imports)"
	@echo "make checkov checkov on the rendered production overlay, Ray pods included"
	@echo "make bench   bare pipeline vs Serve vs plain FastAPI: throughput, latency, memory"
	@echo "make bench-swap  detection latency during model swaps vs the steady state"
	@echo "make bench-onnx  the shipped model on torch eager vs ONNX Runtime: in process, then served"
	@echo "make bench-cameras  CPU per camera poll, and cameras per CPU at a 5-minute interval"
	@echo "make diagram docs/img/architecture.png from the code: packages, imports, request path"
	@echo "make chaos   faults under load on a cluster of its own: per-fault table, timeline plot"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The runtime (pyproject.toml: serve_app, what the image holds) and the tooling beside it
# (tools/pyproject.toml: cluster drivers, manifests, training, load tests), both editable.
$(VENV)/.installed: pyproject.toml tools/pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e . -e ./tools
	touch $@

# The Python client (clients/python/, installed alone by integrators) for its tests and lint.
$(VENV)/.installed-dev: pyproject.toml tools/pyproject.toml clients/python/pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]' -e './tools[loadtest]' -e './clients/python[video]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml tools/pyproject.toml $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e '.[dev]' -e './tools[loadtest,bench]'
	touch $@

# checkov in a virtualenv of its own: its dependencies clash with the project's pins.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-bench: $(VENV)/.installed-bench
install-checkov: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

# The inventory schema: SQLite under .data/ unless MEDINV_DATABASE_URL names another database.
# Serve replicas never migrate; in Kubernetes a Job runs this before the RayService rolls.
migrate: install
	$(MEDINV) migrate

run: migrate
	$(MEDINV) start $(START_FLAGS)
	$(MEDINV) deploy $(SERVE_CONFIG)
	$(MEDINV) wait
	@echo
	@echo "  API        http://127.0.0.1:8000/v1/detect   (POST an image)"
	@echo "  Stream     ws://127.0.0.1:8000/v1/stream"
	@echo "  Inventory  http://127.0.0.1:8000/v1/inventory   (POST /v1/locations, then ?location=ID on detect)"
	@echo "  Console    http://127.0.0.1:8000/   (live camera detection, inventory, models)"
	@echo "  API docs   http://127.0.0.1:8000/docs"
	@echo "  Dashboard  http://127.0.0.1:8265   (RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=.run/ray_auth_token)"
	@echo "  Metrics    http://127.0.0.1:8080/metrics   (Prometheus + rules: make monitor)"
	@echo "  Stop       make stop"

stop:
	@if [ -x $(MEDINV) ]; then \
	  $(MEDINV) monitor-stop --prometheus-port $(PROMETHEUS_PORT); $(MEDINV) stop; \
	else echo "nothing to stop"; fi

# Debian's `prometheus` package (prometheus + promtool), installed when missing: as root, or
# through passwordless sudo. Nothing happens when both commands are already on PATH.
prometheus:
	@if command -v prometheus >/dev/null && command -v promtool >/dev/null; then exit 0; \
	elif [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "prometheus is missing and apt-get needs root: apt-get install prometheus" >&2; \
	  exit 1; fi; \
	echo "installing Debian's prometheus package"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null

# Debian's `chromium`, for the browser tests (Playwright drives it; it downloads no browser of
# its own): installed when missing, as root or through passwordless sudo.
chromium:
	@if command -v chromium >/dev/null; then exit 0; \
	elif [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "chromium is missing and apt-get needs root: apt-get install chromium" >&2; \
	  exit 1; fi; \
	echo "installing Debian's chromium package"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null

monitor: install prometheus
	$(MEDINV) monitor --prometheus-port $(PROMETHEUS_PORT)
	@echo "  Prometheus http://127.0.0.1:$(PROMETHEUS_PORT)   (alerts: /alerts, targets: /targets)"
	@echo "  Stop       make monitor-stop (or make stop)"

monitor-stop:
	@if [ -x $(MEDINV) ]; then $(MEDINV) monitor-stop --prometheus-port $(PROMETHEUS_PORT); fi

# The monitoring tests need prometheus/promtool: without them they skip, which CI
# (MEDINV_REQUIRE_SERVICES=1) counts as a failure. The browser tests need chromium and fail
# without it; tests/kuberay/test_checkov.py needs checkov (install-checkov).
test: install-dev install-checkov chromium
	@$(MAKE) --no-print-directory prometheus || echo "warning: no prometheus; its tests skip" >&2
	$(BIN)/pytest

# kuberay/.checkov.yaml; skips of single resources are annotations beside their reasons.
checkov: install-dev install-checkov
	$(MEDINV) kuberay-checkov production

# A long seeded contract run (docs/testing.md): >= 10,000 cases; exits 1 on any server error,
# undocumented status or schema mismatch. FUZZ_DATABASE_URL: a scratch database (else SQLite).
FUZZ_DATABASE_URL ?=
fuzz: install-dev
	$(BIN)/python -m medinv_tools.fuzz $(if $(FUZZ_DATABASE_URL),--database-url $(FUZZ_DATABASE_URL),)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install-bench
	$(BIN)/python -m benchmarks.run

# The architecture diagram of docs/architecture.md, drawn from the import graph (grimp, which
# comes with import-linter) and the layers contract in pyproject.toml, with matplotlib.
diagram: install-dev
	$(BIN)/python -m medinv_tools.architecture

# Replica kills, PostgreSQL and Redis cuts and a controller restart under Locust load, on a
# local cluster of its own; the per-fault table and targets, .data/chaos/ (docs/reliability.md).
chaos: install-dev
	$(BIN)/loadtest chaos

# CPU per camera poll (the poller's own and its detections'), cameras per CPU (docs/inventory.md).
bench-cameras: install-bench
	$(BIN)/python -m benchmarks.camera_polls

# Latency of ongoing detections while the active model is swapped, against the steady state.
bench-swap: install-bench
	$(BIN)/python -m benchmarks.swap_latency

# Forward and whole-infer milliseconds of 1.0.0 (torch) vs 1.1.0 (its ONNX export) on the CPU;
# .data/bench/onnx-vs-torch.json and docs/img/onnx-vs-torch.png.
# Torch eager vs ONNX Runtime: forwards and whole detections in process, then served by Ray Serve.
bench-onnx: install-bench
	$(BIN)/python -m benchmarks.onnx_vs_torch
	$(BIN)/python -m benchmarks.served_runtimes
