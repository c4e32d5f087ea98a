# dsr-intake. `make test` is what CI runs (.ci/run); `make demo` is the
# newcomer's first command; `make bench` measures (never part of test).
GO      ?= go
FUZZTIME ?= 8s
BIN     := bin/dsr
export DSR_TEST_POSTGRES ?=

.PHONY: all build demo test test-short fuzz vet fmt bench compat oracle clean assets

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dsr

## demo: everything in one process (in-memory IMAP with the samples, SMTP sink, review pages); Ctrl-C stops it
demo:
	@echo "building dsr: about a minute the first time"
	$(GO) build -o $(BIN) ./cmd/dsr
	./$(BIN) demo

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

## test: vet, the whole suite (real Dovecot, PostgreSQL when DSR_TEST_POSTGRES is set), then each fuzz target briefly
# The timeout is for a hang, not a speed check: the parser's OCR tests took
# 453 to 772 s on CI's two cores as the machine's load varied.
test: vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz

## fuzz: run every fuzz target for FUZZTIME from its committed seed corpus (scripts/fuzz.sh)
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) sh scripts/fuzz.sh

test-short:
	$(GO) test -short -count=1 ./...

## bench: Go benchmarks and the end-to-end figures against a private Dovecot (see BENCHMARKS.md); slow, root, not CI
bench:
	bash scripts/bench/run.sh

## compat: peer agreement on the third-party corpus (scripts/compat/fetch-corpus.sh builds it); local only, not CI
compat:
	bash scripts/compat/run.sh

## oracle: dsr check against an independent reading of the rules, on ~380 generated emails (scripts/oracle); local only, not CI
oracle:
	bash scripts/oracle/run.sh

clean:
	rm -rf bin

## assets: fetch nhsuk-frontend and axe-core with npm ci and copy them into review/ (commit the result)
assets:
	bash review/assets.sh
