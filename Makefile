# The two commands a person needs: `make run` and `make test`.
GO        ?= go
BIN       ?= bin
FUZZTIME  ?= 10s
export TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable
export AMQP_URL          ?= amqp://guest:guest@127.0.0.1:5672/

# Fuzz targets run briefly in `make test` and longer in `make fuzz`: package:target.
FUZZ_TARGETS := ./platform/httpx:FuzzDecodeJSON ./platform/bus:FuzzDecodeEnvelope ./modules/payments/paymentsapi:FuzzEventJSON ./internal/e2e:FuzzAPI ./internal/bff:FuzzBodies

.PHONY: run run-extracted test test-go fuzz-short fuzz bench build lint services help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: ## run the whole system on :8080 (development Postgres under .data/)
	@scripts/services.sh postgres-binaries
	$(GO) run ./cmd/app

run-extracted: services ## run with MODULES (e.g. payments, or all) in their own binaries: make run-extracted MODULES=payments
	@scripts/topology.sh $(or $(MODULES),$(error set MODULES, e.g. MODULES=payments or MODULES=all))

test: services lint test-go fuzz-short ## everything CI checks, against real Postgres and RabbitMQ

services: ## install and start Postgres and RabbitMQ if they are missing
	@scripts/services.sh all

test-go:
	$(GO) test -race -count=1 -timeout 30m ./...

fuzz-short:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(FUZZ_TARGETS)

fuzz: ## fuzz every target for 5 minutes each
	@$(MAKE) fuzz-short FUZZTIME=5m

bench: services ## measure the bus and the HTTP API; prints figures
	$(GO) run ./bench

build: ## build bin/app and bin/extract
	$(GO) build -o $(BIN)/app ./cmd/app
	$(GO) build -o $(BIN)/extract ./cmd/extract

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
