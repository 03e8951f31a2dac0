# hearth — the two commands a new user runs, and the rest.
#
#   make run    build and run the daemon with local defaults (--dev)
#   make test   install what the tests need, then fmt, clippy, every test

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

# Debian packages the tests use (each test says which one it misses).
TEST_PACKAGES := systemd ca-certificates curl tzdata prometheus prometheus-node-exporter chromium chromium-driver fonts-dejavu-core

.PHONY: run test deps build release lint fmt clean bench

run:
	$(CARGO) build
	@echo "hearth: starting at https://127.0.0.1:8443 (state in ./.hearth; Ctrl-C stops)"
	./target/debug/hearth serve --dev

test: deps lint
	$(CARGO) test --no-fail-fast

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Installs the missing Debian packages (as root: apt-get update, then
# install). Nothing is installed when everything is present.
deps:
	@missing=""; \
	for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "make test must run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

clean:
	$(CARGO) clean

# Benchmarks (release build): the cost of one metrics sample beside a
# node_exporter scrape, and the daemon under 0 to 10,000 SSE streams.
bench: deps
	$(CARGO) bench --bench sample
	$(CARGO) bench --bench sse
