# Flowlab. `make help` lists the targets.
GO ?= go

.PHONY: help run test bench fuzz check wasmops lessons

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run: ## run the slow-sink example headless for 30s with a live table
	$(GO) run . run -job examples/slow-sink.yaml -duration 30s

test: ## run every test with the race detector
	$(GO) test -race ./...

wasmops: ## rebuild the example and hostile Wasm operators (needs Go; clang, lld and wabt for C and WAT)
	sh wasmops/build.sh

lessons: ## solve every lesson headless with its reference solution
	$(GO) run . lesson verify

bench: ## run the benchmarks (compare runs with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./runtime/... ./host/...

fuzz: ## fuzz the spec parser and the batch codec for a while each
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./runtime/spec/
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./runtime/internal/network/

check: ## format, vet, tidy, and fail if any of them changed a file
	gofmt -l -w .
	$(GO) vet ./...
	$(GO) mod tidy
	git diff --exit-code
	@test -z "$$(git status --porcelain)" || { git status --porcelain; echo "check: untracked or changed files"; exit 1; }
