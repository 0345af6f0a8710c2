# Every developer command. `make help` lists them; scripts/ holds anything longer than two lines.
.DEFAULT_GOAL := help
SHELL := /bin/bash

REGISTRY ?=
LISTEN ?= 127.0.0.1:3000
export LISTEN

.PHONY: help setup build up test unit push push-spin push-chart sbom sign verify kind-up kind-down e2e bench bench-smoke clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z0-9-]*:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Prepare this machine for everything: uses your tools, adds what is missing to ~/.cache/envapp (CHECK=1: only say)
	@scripts/setup.sh $(if $(CHECK),--check)

build: ## Build the component: target/wasm32-wasip1/release/envapp.wasm (needs the wasm32-wasip1 target)
	@scripts/build.sh

up: build ## Serve on http://127.0.0.1:3000: spin up, else the dev host (built on first use); PROD=true, LISTEN=addr
	@scripts/up.sh

test: ## Run every test (unit, HTTP, chart, publish, deploy, bench smoke; e2e when kind-up's cluster answers), setting up what each suite needs
	@scripts/test.sh

unit: ## Run the unit tests only: the component's logic and the dev host (cargo test, no other tools)
	@scripts/test.sh --unit

push: build ## Push the wasm OCI image without Docker: make push REGISTRY=host:port/path [REGISTRY_INSECURE=1]
	@scripts/push.sh "$(REGISTRY)"

push-spin: build ## Push Spin's own OCI artifact with `spin registry push`: make push-spin REGISTRY=... [REGISTRY_INSECURE=1]
	@scripts/push-spin.sh "$(REGISTRY)"

.PHONY: chart-docs
chart-docs: ## Regenerate chart/internal-service/README.md from the comments in its values.yaml
	@scripts/chart-readme.py

push-chart: ## Push the Helm chart to oci://REGISTRY/charts: make push-chart REGISTRY=... [REGISTRY_INSECURE=1]
	@scripts/push-chart.sh "$(REGISTRY)"

sbom: ## Write the component's CycloneDX SBOM (its Rust dependency tree) to target/sbom/envapp.cdx.json
	@scripts/sbom.sh

sign: ## Sign pushed refs with cosign, attesting the SBOM to envapp's: make sign REF="ref..." [KEY=cosign.key] [REGISTRY_INSECURE=1]
	@scripts/sign.sh $(strip $(if $(KEY),--key "$(KEY)") $(REF))

verify: ## Verify signatures and SBOM: make verify REF="ref..." KEY=cosign.pub (or GITHUB_REPO=owner/repo) [REGISTRY_INSECURE=1]
	@scripts/verify.sh $(strip $(if $(KEY),--key "$(KEY)") $(if $(GITHUB_REPO),--github "$(GITHUB_REPO)") $(REF))

kind-up: ## Create a wasm kind cluster, install dev + prod, then run make e2e on it (DRY_RUN=1 prints the commands)
	@deploy/kind/up.sh $(if $(DRY_RUN),--dry-run)

e2e: ## End-to-end checks of dev and prod on the cluster of the current kube context (or E2E_CONTEXT=name)
	@deploy/kind/e2e.sh $(if $(E2E_CONTEXT),--context $(E2E_CONTEXT))

kind-down: ## Delete the kind cluster and registry kind-up created (DRY_RUN=1 prints the commands)
	@deploy/kind/down.sh $(if $(DRY_RUN),--dry-run)

bench: ## Benchmark envapp vs the floor on each wasm host found, native, Flask: target/bench/latest.md
	@scripts/bench.sh

bench-smoke: ## A short run of the whole benchmark (part of make test), so it cannot rot: target/bench/smoke
	@scripts/bench.sh --smoke

clean: ## Remove build output in the clone (target/, .spin/); tools in ~/.cache/envapp stay
	@cargo clean && rm -rf .spin
