# connect-links: `make dev` runs the worker locally, `make test` runs every test.
# Each target installs what it needs first, idempotently.

SHELL := /bin/bash
WASM_BINDGEN_VERSION := 0.2.130
WORKER_BUILD_VERSION := 0.8.7
CARGO_BIN := $(HOME)/.cargo/bin
PORT ?= 8787
export CI ?= true
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false
export PATH := $(CARGO_BIN):$(PATH)

.PHONY: dev test build setup venv sdk-py-generate sdk-ts sdk-ts-generate test-rust test-openapi test-docs test-layout test-mocks test-e2e test-deploy chromium bench deploy clean

## dev: build and run the worker on http://127.0.0.1:$(PORT) with the sandbox platform on
dev: setup sdk-ts
	node scripts/dev.mjs --port $(PORT)

## test: host unit tests, then end-to-end tests on the built worker in workerd (the browser
## tests skip without Chromium; REQUIRE_BROWSER=1 makes them required, as CI does)
test: chromium test-rust test-openapi test-docs test-layout test-mocks test-e2e test-deploy

## chromium: with REQUIRE_BROWSER=1 and no Chromium (CHROMIUM_PATH, or `chromium` on PATH),
## install Debian's package when we are root on Debian; otherwise say what is missing
chromium:
	@if [ "$(REQUIRE_BROWSER)" != 1 ]; then exit 0; \
	elif [ -n "$$CHROMIUM_PATH" ]; then \
		[ -x "$$CHROMIUM_PATH" ] || { echo "REQUIRE_BROWSER=1: CHROMIUM_PATH=$$CHROMIUM_PATH is not executable" >&2; exit 1; }; \
	elif ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		else \
			echo "REQUIRE_BROWSER=1 but no Chromium: set CHROMIUM_PATH or install chromium" >&2; exit 1; \
		fi; \
	fi

test-rust:
	cargo test -p connect-links-core
	cargo test -p serde_core --lib float_text

## test-openapi: openapi/openapi.json is a valid OpenAPI 3.1 document, every $ref resolved, its
## PlatformId enum the catalog's platforms (scripts/openapi-platforms.mjs writes it)
## (the e2e tests then hold every answer and webhook to it; core/tests/openapi.rs the views),
## and the checker itself against hand-made answers on its own small document
test-openapi: setup
	node scripts/openapi-lint.mjs
	node scripts/openapi-platforms.mjs --check
	node tests/e2e/openapi-check.selfcheck.mjs

## test-layout: the source tree's house rules, from the code (scripts/layout-check.mjs): no
## import circle among the files of src/ or core/src, no flow naming another flow, no source
## file over 600 lines outside tests, every folder's module file opening with a //! comment
test-layout:
	node scripts/layout-check.mjs

## test-docs: every relative link in README.md and docs/ resolves (headings included), every
## route of openapi/openapi.json is named in docs/, and every repository path the docs write in
## backticks exists (scripts/docs-check.mjs; node only, no build)
test-docs:
	node scripts/docs-check.mjs

## test-mocks: the self-checks of the Bluesky and Mastodon mocks and of the platform mocks' second
## clients (each plays the worker's calls by hand and asserts the mock answers as the real service
## does; no worker, no build)
test-mocks: node_modules/.installed
	node tests/e2e/mocks-bluesky.selfcheck.mjs
	node tests/e2e/mocks-mastodon.selfcheck.mjs
	node tests/e2e/platform-mocks.selfcheck.mjs

# Everything that tests, measures or ships build/ uses the release build, whatever the shell's
# CONNECT_LINKS_BUILD says (wrangler deploy's own `make build` included).
test-e2e test-deploy deploy bench: export CONNECT_LINKS_BUILD := release

test-e2e: build venv sdk-ts
	node --test --test-concurrency=1 tests/e2e/

## test-deploy: the bundle `wrangler deploy` would upload builds (a dry run, nothing sent;
## wrangler runs `make build` itself, from wrangler.toml)
test-deploy: setup
	@out=$$(mktemp -d); \
	node_modules/.bin/wrangler deploy --dry-run --outdir $$out && test -s $$out/index.js; status=$$?; rm -rf $$out; \
	[ $$status = 0 ] || { echo "wrangler deploy --dry-run did not build the bundle" >&2; exit 1; }

## deploy: a first (or any later) deploy after `npx wrangler login`: creates the D1 database and
## KV namespace when wrangler.toml holds placeholders, applies remote migrations, generates
## ADMIN_TOKEN and TOKEN_KEYS when absent, asks for PUBLIC_URL, deploys (scripts/deploy.mjs)
deploy: build
	node scripts/deploy.mjs

## build: the worker alone (wasm + JS glue in build/). A release build (--release without
## worker-build's wasm-opt, whose -Oz/-Os output gzips ~40 KB larger than rustc's opt-level
## "z" code after -O1, all of it from inlining; then our wasm-opt -Os without inlining and a few more passes (STRIP_release), which also drop the name section worker-build
## keeps; the features are worker-build's own wasm-opt list) unless CONNECT_LINKS_BUILD=dev, which scripts/dev.mjs
## sets for `wrangler dev`: then the dev-fast cargo profile and no wasm-opt. Skipped when
## build/.stamp shows a build of the same mode from the same inputs (scripts/build-stamp.mjs:
## src/, core/, the manifests, Cargo.lock, any build.rs), so wrangler's
## second run of this command at start and `make dev` with nothing changed cost no build.
## Either way it then writes build/assets/openapi.json, the static asset GET /openapi.json
## serves (scripts/openapi-asset.mjs; wrangler.toml [assets]), and copies assets/ (the pages'
## stylesheet, catalogs, icons) into build/assets/ (scripts/assets.mjs).
# worker-build with the pinned wasm-bindgen CLI and npm binaryen's wasm-opt (ours and the bench's no-op).
WORKER_BUILD = WASM_BINDGEN_BIN=$(CARGO_BIN)/wasm-bindgen WASM_OPT_BIN=$(CURDIR)/node_modules/.bin/wasm-opt worker-build
BUILD_MODE = $(if $(filter dev,$(CONNECT_LINKS_BUILD)),dev,release)
# The source paths the wasm keeps (panic locations) without the build machine's cargo registry
# directory: shorter (0.4 KB gzip) and the same wasm from any machine. Listed in the recipe,
# after `cargo fetch` has made the registry's directories.
REMAP_REGISTRY = $$(for d in "$${CARGO_HOME:-$$HOME/.cargo}"/registry/src/*/; do [ -d "$$d" ] && printf -- '--remap-path-prefix=%s= ' "$$d"; done)
BUILD_FLAGS_release := --release --no-opt
BUILD_FLAGS_dev := --profile dev-fast --no-opt
STRIP_NAMES = $(CURDIR)/node_modules/.bin/wasm-opt build/index_bg.wasm -o build/index_bg.wasm --strip-debug \
	--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
	--enable-multivalue --enable-reference-types --enable-exception-handling
# Release: -Os with binaryen's inlining off (its one-caller inlining is what made -Os/-Oz gzip
# ~40 KB larger; rustc's opt-level "z" has inlined what pays), run to convergence, then
# duplicate-function elimination, code folding, redundant set elimination and constant
# propagation (each a standard binaryen pass). About 2.2 KB gzip less than -O1 run to
# convergence with the same passes, for some 40 s more (about 100 s in all). Last, the
# functions are ordered by their (mangled) names, before the names are dropped: the copies of
# one generic function and the functions of one module then sit together, where gzip finds
# what they share (10 KB gzip less than rustc's order; the code is the same). The names it
# sorts by are first rewritten to each name without its hash, then the body's size
# (scripts/function-order.mjs: 1.1 KB gzip less than the names as rustc gives them).
NO_INLINING := --always-inline-max-function-size 0 --one-caller-inline-max-function-size 0 --flexible-inline-max-function-size 0
STRIP_release := node scripts/function-order.mjs build/index_bg.wasm && $(subst --strip-debug,-Os $(NO_INLINING) --converge --duplicate-function-elimination --code-folding --rse --precompute-propagate --reorder-functions-by-name --strip-debug,$(STRIP_NAMES))
STRIP_dev := true
# Release: the wasm's imports, and the exports its glue calls, renamed to short names in the
# wasm and its glue, and the sections only tools read dropped (2.5 KB gzip of wasm-bindgen's
# long and hashed names; scripts/short-imports.mjs).
SHORT_release := node scripts/short-imports.mjs
SHORT_dev := true
build: setup
	@node scripts/patched-crates.mjs
	@stamp="$$(node scripts/build-stamp.mjs $(BUILD_MODE) $(BUILD_FLAGS_$(BUILD_MODE)))" || exit 1; \
	if [ -s build/index.js ] && [ -s build/index_bg.wasm ] && [ "$$(cat build/.stamp 2>/dev/null)" = "$$stamp" ]; then \
		echo "make build: no input changed since the last $(BUILD_MODE) build, build/ is up to date"; \
	else \
		rm -f build/.stamp; set -x; \
		cargo fetch -q || exit 1; \
		RUSTFLAGS="$$RUSTFLAGS $(REMAP_REGISTRY)" $(WORKER_BUILD) $(BUILD_FLAGS_$(BUILD_MODE)) || exit 1; \
		$(STRIP_$(BUILD_MODE)) || exit 1; \
		$(SHORT_$(BUILD_MODE)) || exit 1; \
		{ set +x; } 2>/dev/null; echo "$$stamp" > build/.stamp; \
	fi
	@node scripts/openapi-asset.mjs
	@node scripts/assets.mjs

setup: node_modules/.installed
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@worker-build --version 2>/dev/null | grep -q "$(WORKER_BUILD_VERSION)" || \
		cargo install worker-build --version $(WORKER_BUILD_VERSION)

node_modules/.installed: package.json package-lock.json clients/typescript/package.json
	npm ci --no-audit --no-fund
	@touch $@

## sdk-ts-generate: the TypeScript SDK's types (clients/typescript/src/generated/schema.d.ts,
## committed) regenerated from openapi/openapi.json by the pinned openapi-typescript; run it
## after changing the document (tests/e2e/sdk-typescript.test.mjs fails while they differ)
sdk-ts-generate: node_modules/.installed
	npm run generate --workspace clients/typescript

## sdk-ts: the TypeScript SDK built (tsc: ESM and declarations in clients/typescript/dist/,
## not committed) when its sources changed; the demo app and the SDK's tests import it
sdk-ts: clients/typescript/dist/index.js

SDK_TS_SOURCES := $(wildcard clients/typescript/src/*.ts) clients/typescript/src/generated/schema.d.ts \
	clients/typescript/package.json clients/typescript/tsconfig.json
clients/typescript/dist/index.js: $(SDK_TS_SOURCES) node_modules/.installed
	npm run build --workspace clients/typescript

clean:
	rm -rf build target node_modules .wrangler .venv

## venv: the Python tooling in .venv (python3's venv; requirements-dev.txt, exact pins) and the
## Python SDK installed from clients/python, reinstalled when its sources change (the e2e run's
## tests/e2e/sdk-python.test.mjs tests the installed package)
PY_SDK_SOURCES := clients/python/pyproject.toml clients/python/README.md $(wildcard clients/python/src/connect_links/*.py)
venv: .venv/.sdk-py-installed

.venv/.installed: requirements-dev.txt
	@[ -x .venv/bin/python ] || python3 -m venv .venv || { rm -rf .venv; \
		if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv && python3 -m venv .venv; \
		else echo "python3 -m venv failed: install python3 with its venv module" >&2; exit 1; fi; }
	.venv/bin/python -m pip install -q -r requirements-dev.txt
	@touch $@

.venv/.sdk-py-installed: .venv/.installed $(PY_SDK_SOURCES)
	.venv/bin/python -m pip install -q ./clients/python
	@touch $@

## sdk-py-generate: clients/python/src/connect_links/models.py from openapi/openapi.json again
## (datamodel-code-generator with the options in clients/python/pyproject.toml); run it after
## changing the document (clients/python/tests/test_models_fresh.py fails until then)
sdk-py-generate: .venv/.installed
	cd clients/python && ../../.venv/bin/datamodel-codegen

## bench: refresh throughput for 1,000 due profiles (BENCH_PROFILES=...), statements and
## subrequests per refresh, the due-selection query plan, liveness checks, and the proxy's
## overhead against the same mock called directly and against a TypeScript peer's proxy, with
## its D1 statements per call (BENCH_SECONDS, BENCH_ROUNDS), the size (and its delta to the last
## release, bench/last-release.json)
## of the bundle `wrangler deploy` uploads (raw and gzip), and create-link throughput against
## a TypeScript peer doing the same work and a workers-rs no-op (bench/create-link.mjs), and the
## capacity model for 1M, 10M and 100M profiles against Cloudflare's limits (core/examples/capacity.rs,
## docs/scale.md), and start-up: a fresh start of ours, the peer and the no-op to their first
## create-link answer (bench/first-request.mjs). Not a test.
bench: build bench-noop
	node bench/size.mjs
	node bench/refresh.mjs
	cargo run --release -q -p connect-links-core --example refresh_cost
	cargo run --release -q -p connect-links-core --example capacity
	node bench/proxy.mjs
	node bench/create-link.mjs
	node bench/first-request.mjs
	node scripts/dev-timing.mjs

## bench-noop: the workers-rs no-op of the create-link bench, built as `build` builds ours
## (its own workspace and target/ in bench/peers/noop; rebuilt when its sources change)
.PHONY: bench-noop
bench-noop: bench/peers/noop/build/index.js

bench/peers/noop/build/index.js: bench/peers/noop/Cargo.toml bench/peers/noop/src/lib.rs
	cd bench/peers/noop && $(WORKER_BUILD) --release
	cd bench/peers/noop && $(STRIP_NAMES)
	@touch $@
