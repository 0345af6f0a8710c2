# Every developer command. `make help` lists them; scripts/ holds anything longer than two lines.
.DEFAULT_GOAL := help
SHELL := /bin/bash

REGISTRY ?=
LISTEN ?= 127.0.0.1:3000
export LISTEN

.PHONY: help setup build up test unit push push-spin push-chart kind-up kind-down bench bench-smoke clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Install every tool the project needs (idempotent; fast when done)
	@scripts/setup.sh

build: ## Build the component: target/wasm32-wasip1/release/envapp.wasm
	@scripts/build.sh

up: build ## Serve the component on http://127.0.0.1:3000 (spin up, else the dev host); PROD=true, LISTEN=addr
	@scripts/up.sh

test: setup ## Run every test: unit, HTTP on the real .wasm, chart, publish, deploy, bench smoke
	@scripts/test.sh

unit: ## Run the host unit tests only (no setup needed)
	@cargo test

push: build ## Push the wasm OCI image without Docker: make push REGISTRY=host:port/path [REGISTRY_INSECURE=1]
	@scripts/push.sh "$(REGISTRY)"

push-spin: build ## Push Spin's own OCI artifact with `spin registry push`: make push-spin REGISTRY=...
	@scripts/push-spin.sh "$(REGISTRY)"

push-chart: ## Push the Helm chart to oci://REGISTRY/charts: make push-chart REGISTRY=...
	@scripts/push-chart.sh "$(REGISTRY)"

kind-up: ## Create a wasm kind cluster and install dev + prod (DRY_RUN=1 prints the commands)
	@scripts/kind-up.sh $(if $(DRY_RUN),--dry-run)

kind-down: ## Delete the kind cluster and registry kind-up created (DRY_RUN=1 prints the commands)
	@scripts/kind-down.sh $(if $(DRY_RUN),--dry-run)

bench: ## Benchmark wasm vs native vs Flask; writes bench/results/latest.{md,png}
	@scripts/bench.sh

bench-smoke: ## A few-second run of the benchmark, so it cannot rot
	@scripts/bench.sh --smoke

clean: ## Remove build output in the clone (tools in ~/.cache/envapp stay)
	@cargo clean
