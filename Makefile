# The commands people and CI share. `make run` and `make test` work on a fresh machine
# with only Python 3.11 and pip.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_DIR := .run
SERVE_CONFIG := configs/serve_config.yaml

# Ray's GCS defaults to 6379, where Redis listens on these machines.
RAY_GCS_PORT ?= 6380
RAY_DASHBOARD_PORT ?= 8265
RAY_METRICS_PORT ?= 8080
RAY_NUM_CPUS ?= 2
DASHBOARD := http://127.0.0.1:$(RAY_DASHBOARD_PORT)

# Token auth on the Ray control plane, the same for the cluster and every client; the token
# is this checkout's own (made by `make start`), not ~/.ray's.
export RAY_AUTH_MODE := token
export RAY_AUTH_TOKEN_PATH := $(abspath $(RUN_DIR))/ray_auth_token
# Keep the GCS, dashboard and metrics on 127.0.0.1 instead of the machine's interface.
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0

.PHONY: help install install-dev run start deploy wait stop test lint bench models

help:
	@echo "make run     install, start a local Ray head, deploy $(SERVE_CONFIG), wait until ready"
	@echo "make stop    stop what 'make run' started (by PID)"
	@echo "make test    install test deps and run the test suite"
	@echo "make lint    ruff + mypy"
	@echo "make bench   bare pipeline vs Serve vs plain FastAPI: throughput, latency, memory"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

models: install
	$(BIN)/medinv init-demo-model

run: models
	$(BIN)/medinv check-config $(SERVE_CONFIG)
	$(MAKE) --no-print-directory start deploy wait
	@echo
	@echo "  API        http://127.0.0.1:8000/v1/detect   (POST an image)"
	@echo "  Stream     ws://127.0.0.1:8000/v1/stream"
	@echo "  API docs   http://127.0.0.1:8000/docs"
	@echo "  Dashboard  $(DASHBOARD)   (token auth: RAY_AUTH_MODE=token, ~/.ray/auth_token)"
	@echo "  Metrics    http://127.0.0.1:$(RAY_METRICS_PORT)/metrics"
	@echo "  Stop       make stop"

# `ray start --block` stays in the foreground and, when it gets SIGTERM, stops exactly the
# Ray processes it started: its PID is all `make stop` needs.
start: install
	@mkdir -p $(RUN_DIR)
	@[ -s $(RAY_AUTH_TOKEN_PATH) ] || (umask 077; $(BIN)/python -c \
	  'import secrets; print(secrets.token_hex(32))' > $(RAY_AUTH_TOKEN_PATH))
	@if [ -f $(RUN_DIR)/ray.pid ] && kill -0 $$(cat $(RUN_DIR)/ray.pid) 2>/dev/null; then \
	  echo "Ray head already running (PID $$(cat $(RUN_DIR)/ray.pid))"; \
	else \
	  nohup $(BIN)/ray start --head --block --port $(RAY_GCS_PORT) --num-cpus $(RAY_NUM_CPUS) \
	    --num-gpus 0 --node-ip-address 127.0.0.1 --dashboard-host 127.0.0.1 \
	    --dashboard-port $(RAY_DASHBOARD_PORT) --metrics-export-port $(RAY_METRICS_PORT) \
	    --disable-usage-stats > $(RUN_DIR)/ray.log 2>&1 & echo $$! > $(RUN_DIR)/ray.pid; \
	  echo "Ray head starting (PID $$(cat $(RUN_DIR)/ray.pid), log $(RUN_DIR)/ray.log)"; \
	fi

# The dashboard takes a few seconds to come up after `ray start`.
deploy: install
	@for i in $$(seq 60); do \
	  kill -0 $$(cat $(RUN_DIR)/ray.pid) 2>/dev/null || { tail -20 $(RUN_DIR)/ray.log; exit 1; }; \
	  $(BIN)/serve deploy $(SERVE_CONFIG) --address $(DASHBOARD) >$(RUN_DIR)/deploy.log 2>&1 \
	    && { cat $(RUN_DIR)/deploy.log; exit 0; }; \
	  sleep 1; \
	done; cat $(RUN_DIR)/deploy.log; exit 1

wait: install
	$(BIN)/medinv wait --dashboard $(DASHBOARD)

stop:
	@if [ -f $(RUN_DIR)/ray.pid ] && kill -0 $$(cat $(RUN_DIR)/ray.pid) 2>/dev/null; then \
	  pid=$$(cat $(RUN_DIR)/ray.pid); kill $$pid; \
	  for i in $$(seq 30); do kill -0 $$pid 2>/dev/null || break; sleep 1; done; \
	  echo "stopped Ray head (PID $$pid)"; \
	else echo "nothing to stop"; fi
	@rm -f $(RUN_DIR)/ray.pid

test: install-dev models
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install-dev models
	$(BIN)/python -m benchmarks.run
