# hearth — the two commands a new user runs, and the rest.
#
#   make run    build and run the daemon with local defaults (--dev)
#   make test   install what the tests need, then fmt, clippy, every test
#   make check  the fast tier: the same but no image is built, and the image
#               and VM tests (tests/vm.rs, tests/image_*.rs) are left out

CARGO ?= cargo
# One recipe at a time: `deps` and `image-deps` both run apt-get, and cargo
# parallelises on its own.
.NOTPARALLEL:
export CARGO_TERM_COLOR ?= never

# Debian packages the tests use (each test says which one it misses).
TEST_PACKAGES := systemd dbus ca-certificates curl tzdata prometheus prometheus-node-exporter chromium chromium-driver fonts-dejavu-core nftables caddy iproute2 iputils-ping passwd e2fsprogs mount python3 python3-venv tar docker.io rootlesskit slirp4netns uidmap busybox-static systemd-journal-remote minisign
# What `make image` and `make vm` use.
IMAGE_PACKAGES := mmdebstrap debian-archive-keyring erofs-utils dosfstools mtools fdisk zstd qemu-system-x86 ovmf minisign

# The appliance image (see image/build.sh). Its timestamps come from the
# last commit, so two builds of one commit are the same bytes.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
IMAGE_DIR := build
IMAGE := $(IMAGE_DIR)/hearth-$(VERSION)-x86_64.img
# The image's hearth is built on its own, with the build paths mapped to
# fixed ones so that the binary does not depend on where the checkout is.
IMAGE_TARGET_DIR := target/image
IMAGE_BINARY := $(IMAGE_TARGET_DIR)/release/hearth
IMAGE_RUSTFLAGS := --remap-path-prefix=$(CURDIR)=/build/hearth --remap-path-prefix=$(or $(CARGO_HOME),$(HOME)/.cargo)=/cargo
export SOURCE_DATE_EPOCH ?= $(shell git -c safe.directory=$(CURDIR) log -1 --format=%ct)
# Named in the image's manifest.
export HEARTH_COMMIT ?= $(shell git -c safe.directory=$(CURDIR) rev-parse HEAD)
# The public key the image trusts to sign its updates (a minisign .pub
# file): the repository's test key unless told otherwise, and the box
# then says that it trusts a test key.
export HEARTH_UPDATE_KEY ?= $(CURDIR)/image/keys/hearth-TEST-ONLY.pub
# The update bundle of the same build as the image (image/bundle.sh),
# signed with the minisign secret key at HEARTH_SIGNING_KEY (the test key
# only with HEARTH_ALLOW_TEST_KEY=1), for boxes that run at least
# BUNDLE_MIN_VERSION.
BUNDLE := $(IMAGE_DIR)/hearth-$(VERSION)-x86_64.bundle
BUNDLE_MIN_VERSION ?= 0.1.0
# make vm forwards the guest's 8443 (hearth's interface) to VM_PORT and
# the guest's 443 (Caddy, the members' domains) to VM_CADDY_PORT.
VM_PORT ?= 8444
VM_CADDY_PORT ?= 4443

.PHONY: run test check deps packages browser-deps fuzz-deps image-deps build release lint fmt clean bench image image-binary image-lock vm bundle

run:
	$(CARGO) build
	@echo "hearth: starting at https://127.0.0.1:8443 (state in ./.hearth; Ctrl-C stops)"
	./target/debug/hearth serve --dev $$(test "$$(id -u)" -eq 0 && echo --allow-root)

# The image tests (tests/vm.rs, tests/image_reproducible.rs) use the image
# built here; the paths reach them through the environment. When Debian has
# moved past image/packages.lock, the tests' image is built from a fresh
# resolution, with a warning (see image/make-image.sh); `make image` alone
# refuses (as does `make image test`, which builds the image first, on its
# own). HEARTH_IMAGE_STALE_LOCK=fail make test refuses too.
test: export HEARTH_IMAGE_STALE_LOCK ?= refresh
test: deps lint image
	HEARTH_IMAGE=$(IMAGE) HEARTH_IMAGE_BINARY=$(IMAGE_BINARY) HEARTH_VERSION=$(VERSION) \
	  $(CARGO) test --workspace --no-fail-fast

# Every integration test (tests/*.rs) but those of the image and the VM: a
# new test file joins `make check` by itself.
IMAGE_TESTS := vm image_contents image_reproducible
CHECK_TESTS := $(filter-out $(IMAGE_TESTS),$(basename $(notdir $(wildcard tests/*.rs))))

check: deps lint
	$(CARGO) test --workspace --no-fail-fast --lib --bins $(addprefix --test ,$(CHECK_TESTS))

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --lib

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Installs the missing Debian packages (as root: apt-get update, then
# install). Nothing is installed when everything is present.
define install_missing
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "must run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
endef

deps: packages browser-deps fuzz-deps

packages:
	$(call install_missing,$(TEST_PACKAGES) $(IMAGE_PACKAGES) $(NPM_PACKAGE))

# What the browser tests inject into the pages (axe-core), from the npm
# registry into tests/browser/node_modules, pinned by its package-lock.json;
# never part of the product. Reinstalled when the lock is newer (npm keeps
# the package's own file dates, hence the touch).
AXE := tests/browser/node_modules/axe-core/axe.min.js
# Debian's npm, unless an npm is there already (Node.js from elsewhere
# brings its own, and Debian's would conflict with it). Expanded only when
# a recipe runs, so after `packages` has installed it.
NPM_PACKAGE = $(if $(shell command -v npm 2>/dev/null),,npm)

browser-deps: $(AXE)

$(AXE): tests/browser/package-lock.json tests/browser/package.json
	$(call install_missing,$(NPM_PACKAGE))
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

# What tests/openapi_fuzz.rs runs against the API's OpenAPI description:
# schemathesis, from PyPI, pinned, in a venv of its own under target/
# (Debian's python3-venv; never part of the product). Reinstalled when the
# pinned version changes.
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS_VENV := target/schemathesis-venv
SCHEMATHESIS_STAMP := $(SCHEMATHESIS_VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)

fuzz-deps: $(SCHEMATHESIS_STAMP)

$(SCHEMATHESIS_STAMP):
	$(call install_missing,python3-venv)
	python3 -m venv $(SCHEMATHESIS_VENV)
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

image-deps:
	$(call install_missing,$(IMAGE_PACKAGES))

clean:
	$(CARGO) clean
	rm -rf $(IMAGE_DIR)

# The flashable disk image, its .sha256, .zst and package manifest, in
# build/ (reused when nothing that goes into it changed).
image: image-deps image-binary
	image/make-image.sh $(IMAGE_DIR) $(IMAGE_BINARY) $(VERSION)

image-binary:
	RUSTFLAGS="$(IMAGE_RUSTFLAGS)" $(CARGO) build --release --locked --target-dir $(IMAGE_TARGET_DIR)

# Re-resolves image/packages.list against the mirror into image/packages.lock.
bundle: image
	image/bundle.sh $(IMAGE_DIR)/hearth-$(VERSION)-x86_64.parts $(VERSION) $(BUNDLE_MIN_VERSION) $(BUNDLE)

image-lock: image-deps
	image/lock.sh

# Boots the image in qemu; hearth on https://127.0.0.1:$(VM_PORT), Caddy's
# 443 on 127.0.0.1:$(VM_CADDY_PORT).
vm: image
	image/vm.sh $(IMAGE) $(VM_PORT) $(VM_CADDY_PORT)

# Benchmarks (release build): the cost of one metrics sample beside a
# node_exporter scrape, the daemon under 0 to 10,000 SSE streams, and a
# firewall of 2,000 rules applied beside a bare `nft -f` (in a network
# namespace of its own; needs root), and Caddy with 1,000 domains loaded
# beside a bare curl, its memory after 100 changes and an event stream
# across a load (a Caddy of its own in a temp dir); and the virtual
# servers: create to running, idle memory, and a container's start in a
# rootless server beside a root engine started for the run (needs root);
# and 1,000 SIGKILLs at random moments under acknowledged writes, none of
# which may be lost.
bench: deps
	$(CARGO) bench --bench sample
	$(CARGO) bench --bench sse
	$(CARGO) bench --bench firewall
	$(CARGO) bench --bench proxy
	$(CARGO) bench --bench servers
	$(CARGO) bench --bench bind_guard
	$(CARGO) bench --bench sign_in
	$(CARGO) bench --bench crash
