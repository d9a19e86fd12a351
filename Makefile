# Gatehouse build, run and test targets. See README.md.
GO      ?= go
NPM     ?= npm
BIN     := bin/gatehouse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X gatehouse/server/cli.Version=$(VERSION)
# nomsgpack leaves out gin's MessagePack binding and renderer (the API speaks
# JSON only) and with them the ugorji codec: about 6 MB of the binary.
TAGS    ?= nomsgpack

.PHONY: all run build build-go frontend node_modules test test-targets test-db-targets test-go test-go-postgres test-go-redis test-multiinstance test-unit test-e2e test-e2e-run lint check-apiclient check-api check-deploy release release-check container-check freeze-migrations bench bench-console screenshots clean

all: build

node_modules: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

## frontend: build the console into frontend/dist (embedded by go:embed)
frontend: node_modules
	$(NPM) run build

## build: the console and the binary, bin/gatehouse
build: frontend build-go

build-go:
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) .

## run: build everything, then serve on 127.0.0.1:8080 with data in ./gatehouse-data
run: build
	./$(BIN) serve --data ./gatehouse-data

## test: everything CI runs, one target after another (also under make -j:
## test-multiinstance stops and starts the PostgreSQL server that
## test-go-postgres and test-go-redis use)
TEST_TARGETS := lint check-apiclient check-deploy test-go test-go-postgres test-go-redis test-multiinstance test-unit test-e2e release-check
test: $(TEST_TARGETS)
.NOTPARALLEL: test

## test-targets: the names of the targets make test runs, in order (.ci/run
## runs them one by one to print the seconds of each)
test-targets:
	@echo $(TEST_TARGETS)

## test-db-targets: the ones of them that use the PostgreSQL and Redis
## servers, in order; .ci/run runs them in the background beside the
## others (after test-go), one after another (test-multiinstance stops
## PostgreSQL)
TEST_DB_TARGETS := test-go-postgres test-go-redis test-multiinstance
test-db-targets:
	@echo $(TEST_DB_TARGETS)

## lint: go vet with the tests' tags, so that it type-checks with the
## packages test-go compiles (untagged, gin and every package of ours that
## imports it were compiled a second time for vet alone), and with
## redis, so that the Redis tests' files are vetted too
lint: node_modules
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags '$(TAGS) redis' ./...
	$(NPM) run check:api
	$(NPM) run lint:api
	$(NPM) run typecheck

## check-apiclient: generate the Go client from openapi.yaml with
## oapi-codegen (internal/apiclient), then build and run the program that
## charges usage with it against a real server (internal/devtools/usageclient)
check-apiclient:
	$(GO) generate ./internal/apiclient
	$(GO) test -count=1 -tags 'apiclient $(TAGS)' ./internal/devtools/usageclient

test-go:
	GATEHOUSE_TEST_DATABASE_URL= $(GO) test -count=1 -tags '$(TAGS)' ./...

## test-go-postgres: the API suite again on PostgreSQL when
## GATEHOUSE_TEST_DATABASE_URL names a server (.ci/run sets one up)
test-go-postgres:
	@if [ -n "$$GATEHOUSE_TEST_DATABASE_URL" ]; then \
	  $(GO) test -count=1 -timeout 30m -tags '$(TAGS)' ./models/... ./server/api/ ./server/service/ && \
	  $(GO) test -count=1 -tags '$(TAGS)' -run Postgres ./server/cli/; \
	else echo "GATEHOUSE_TEST_DATABASE_URL not set: PostgreSQL run not requested"; fi

## test-go-redis: rate-limit counters shared through Redis, when
## GATEHOUSE_TEST_REDIS_URL names a server (.ci/run starts one)
test-go-redis:
	@if [ -n "$$GATEHOUSE_TEST_REDIS_URL" ]; then \
	  $(GO) test -count=1 -tags 'redis $(TAGS)' -run Redis ./server/api/ ./server/redisstore/; \
	else echo "GATEHOUSE_TEST_REDIS_URL not set: Redis run not requested"; fi

## test-multiinstance: two real `serve` processes on one PostgreSQL and one
## Redis behind a round-robin proxy (internal/multiinstance), when both
## GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL are set; one
## scenario stops and starts that PostgreSQL server through
## GATEHOUSE_TEST_PG_CTL (e.g. 'pg_ctlcluster 15 main'; .ci/run sets it),
## so nothing else may use the server meanwhile (-p 1: one package at a time)
test-multiinstance:
	@if [ -n "$$GATEHOUSE_TEST_DATABASE_URL" ] && [ -n "$$GATEHOUSE_TEST_REDIS_URL" ]; then \
	  $(GO) test -count=1 -p 1 -tags '$(TAGS)' ./internal/multiinstance/; \
	else echo "GATEHOUSE_TEST_DATABASE_URL or GATEHOUSE_TEST_REDIS_URL not set: multi-instance run not requested"; fi

test-unit: node_modules
	$(NPM) run test:unit

test-e2e: build
	$(MAKE) test-e2e-run

## test-e2e-run: the Playwright suite against the console and binary
## already built (make build); .ci/run starts release-check beside it
test-e2e-run:
	$(GO) build -o bin/mailsink ./internal/devtools/mailsink
	$(GO) build -o bin/mockoidc ./internal/devtools/mockoidc
	$(GO) build -o bin/protectedapp ./internal/devtools/protectedapp
	$(NPM) run test:e2e

## screenshots: the console's main screens at 1280×800 and 390×844 into
## docs/screenshots/ (README)
screenshots: build
	$(NPM) exec -- playwright test -c playwright.screenshots.config.ts

## release: the console once, then dist/: archives for linux, darwin and
## windows on amd64 and arm64, Debian and RPM packages, SHA256SUMS
## (scripts/release.sh; reproducible, stamped from git)
release: frontend
	GO=$(GO) TAGS='$(TAGS)' bash scripts/release.sh

## release-check: the release twice from one console build, compared file by
## file, then the linux/amd64 archive's smoke test (CI runs it after
## test-e2e has built the console; .ci/run starts it beside the Playwright
## run, test-e2e-run)
release-check:
	GO=$(GO) TAGS='$(TAGS)' bash scripts/release-check.sh

## container-check: the container image's final stage around the
## linux/amd64 release binary, built and run with podman (after make
## release; optional, not part of make test; see README "Container")
container-check:
	bash scripts/container-check.sh dist/gatehouse-$(VERSION)-linux-amd64.tar.gz

## freeze-migrations: add the migration files not yet in
## models/migrations/released.sum to it (when cutting a release); a test
## fails when a listed file changes
freeze-migrations:
	GATEHOUSE_FREEZE_MIGRATIONS=1 $(GO) test -count=1 -run TestRelease_ReleasedMigrationsUnchanged ./models/migrations

## check-deploy: systemd-analyze verify on deploy/gatehouse.service
check-deploy:
	bash scripts/check-deploy.sh

## bench: Go benchmarks and the load script (see BENCHMARKS.md)
bench: build bench-console
	bash scripts/bench.sh

## bench-console: the sign-in page's and Accounts screen's time to
## interactive in Chromium, with the load average (scripts/bench-console.sh)
bench-console: build
	bash scripts/bench-console.sh

clean:
	rm -rf bin dist frontend/dist/assets frontend/dist/index.html test-results playwright-report
