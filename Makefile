# Atrium — `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
NAME  ?=
DIALECT ?= all

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Start Atrium on the embedded default (SQLite in ./data) at http://localhost:8080 (passkeys need the name localhost, not 127.0.0.1)
	$(GO) run ./cmd/atrium serve

.PHONY: build
build: ## Build bin/atrium
	$(GO) build -o bin/atrium ./cmd/atrium

.PHONY: test
test: ## Run every test (uses PostgreSQL/Redis when available; see docs/testing.md)
	@summary=$$(mktemp); \
	ATRIUM_TEST_SUMMARY=$$summary $(GO) test -count=1 -timeout 20m ./...; rc=$$?; \
	echo; echo "Services the tests ran against (internal/testkit):"; sort -u $$summary; rm -f $$summary; \
	exit $$rc

.PHONY: generate
generate: ## Regenerate ent (ent/) and ogen (gen/api/) code, and tidy go.mod/go.sum
	$(GO) generate ./...
	$(GO) mod tidy

.PHONY: check-generated
check-generated: generate ## Fail if generated code or go.mod/go.sum (go mod tidy) differ from what is committed
	@git diff --exit-code --stat -- ent gen go.mod go.sum || { echo "generated code or go.mod/go.sum out of date: run 'make generate' (go generate + go mod tidy) and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- ent gen)" || { git status --porcelain -- ent gen; echo "untracked generated files: run 'make generate' and commit"; exit 1; }

.PHONY: clients
clients: ## Regenerate the TypeScript client (clients/typescript) from openapi.yaml and rebuild the console bundle (web/static/app.js) from web/console; needs npm
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate && npm run build && npm test
	cd web/console && npm ci --no-audit --no-fund && npm run check && npm run build

.PHONY: check-clients
check-clients: clients ## Fail if the TypeScript client or the console bundle differ from what is committed
	@git diff --exit-code --stat -- clients web/static web/console || { echo "TypeScript client or console bundle out of date: run 'make clients' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- clients web/static web/console)" || { git status --porcelain -- clients web/static web/console; echo "untracked client or console files: run 'make clients' and commit"; exit 1; }

.PHONY: apidocs
apidocs: ## Rebuild the API reference bundle served at /docs (web/apidocs/dist) from its pinned npm packages
	cd web/apidocs && npm ci --ignore-scripts && node build.mjs

.PHONY: check-apidocs
check-apidocs: apidocs ## Fail if web/apidocs/dist differs from what its sources build (needs npm and the npm registry)
	@git diff --exit-code --stat -- web/apidocs || { echo "web/apidocs/dist is out of date: run 'make apidocs' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- web/apidocs)" || { git status --porcelain -- web/apidocs; echo "untracked files in web/apidocs: run 'make apidocs' and commit"; exit 1; }

.PHONY: migrate-diff
migrate-diff: ## Write the next migration from the ent schema: make migrate-diff NAME=add_things
	@test -n "$(NAME)" || { echo "usage: make migrate-diff NAME=short_name"; exit 2; }
	$(GO) run ./cmd/atrium migrate diff --dialect $(DIALECT) $(NAME)

.PHONY: migrate-check
migrate-check: ## Fail if the ent schema has changes without a migration, atlas.sum is stale, or migration lint fails
	$(GO) run ./cmd/atrium migrate check --dialect $(DIALECT)

.PHONY: lint
lint: ## go vet + staticcheck
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: load
load: ## Load a running server over HTTP: make load SCENARIO=check100 ARGS='-invite LINK -c 16' (docs/performance.md)
	@test -n "$(SCENARIO)" || { echo "usage: make load SCENARIO=read|list|write|check1|check100|login|refresh|sessions|ws ARGS='-invite LINK ...'"; exit 2; }
	$(GO) run ./cmd/atriumload -scenario $(SCENARIO) $(ARGS)

.PHONY: load-all
load-all: ## Every row of issue #12 in one run on one seeded server: make load-all ARGS='-url ... -origin ... -atrium-bin bin/atrium' (docs/performance.md)
	$(GO) run ./cmd/atriumload -scenario all -tenants 2 -users 500 -seed-c 16 $(ARGS)

.PHONY: bench
bench: ## Run the Go benchmarks (token, bearer check, permissions)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
