# Flowlab. `make help` lists the targets.
GO ?= go

.PHONY: help run serve test e2e bench fuzz generate check wasmops lessons

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run: ## run the slow-sink example headless for 30s with a live table
	$(GO) run . run -job examples/slow-sink.yaml -duration 30s

serve: ## start the playground on http://127.0.0.1:8080/
	$(GO) run . serve

test: ## run every test with the race detector
	$(GO) test -race ./...

wasmops: ## rebuild the example and hostile Wasm operators (needs Go; clang, lld and wabt for C and WAT)
	sh wasmops/build.sh

lessons: ## solve every lesson headless with its reference solution
	$(GO) run . lesson verify

bench: ## run the benchmarks (compare runs with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./runtime/... ./host/... ./ui/...

e2e: ## drive the real server with headless Chromium (apt-get install chromium); screenshots in e2e/artifacts/
	$(GO) test -count=1 -v ./e2e/

generate: ## regenerate the templ components (ui/components/*_templ.go)
	$(GO) tool templ generate -path ui/components

fuzz: ## fuzz the spec parser and the batch codec for a while each
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./runtime/spec/
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./runtime/internal/network/

check: ## regenerate, format, vet, tidy, and fail if any of them changed a file
	$(MAKE) generate
	gofmt -l -w .
	$(GO) vet ./...
	$(GO) mod tidy
	git diff --exit-code
	@test -z "$$(git status --porcelain)" || { git status --porcelain; echo "check: untracked or changed files"; exit 1; }
