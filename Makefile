# keyhole: build, test, man pages, completions, install, bench, conformance.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man/man1
CARGO  ?= cargo
BINS    = keyhole keyhole-find keyhole-env keyhole-probe keyhole-classify keyhole-report keyhole-capture
RELEASE = target/release

.PHONY: schema all build test unit integration man completions install bench conformance doctor fuzz fuzz-check fmt lint ci clean

all: build

build:
	$(CARGO) build --release --workspace --bins

# Every test: unit tests of each crate, then the real binaries as processes.
test:
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked

# docs/records.schema.json comes from the record types (crates/core/src/record/), and is committed.
schema:
	KEYHOLE_WRITE_SCHEMA=1 $(CARGO) test -p keyhole-core --lib committed_schema_is_current

# Man pages come from each binary's one clap definition, and are committed.
man:
	$(CARGO) build --workspace --bins
	mkdir -p man
	for b in $(BINS); do target/debug/$$b --generate man > man/$$b.1; done

completions: build
	mkdir -p target/completions
	for b in $(BINS); do \
	  $(RELEASE)/$$b --generate complete-bash > target/completions/$$b.bash; \
	  $(RELEASE)/$$b --generate complete-zsh  > target/completions/_$$b; \
	  $(RELEASE)/$$b --generate complete-fish > target/completions/$$b.fish; \
	done

install: build completions
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	for b in $(BINS); do \
	  install -m755 $(RELEASE)/$$b $(DESTDIR)$(BINDIR)/$$b; \
	  install -m644 man/$$b.1 $(DESTDIR)$(MANDIR)/$$b.1; \
	  install -m644 target/completions/$$b.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$b; \
	  install -m644 target/completions/_$$b $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$b; \
	  install -m644 target/completions/$$b.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$b.fish; \
	done

# Build, then diagnose this machine: the newcomer's first command.
doctor: build
	$(RELEASE)/keyhole doctor

# Ratios against rg measured in the same run (a script, not a test).
bench: build
	bash bench/run.sh

# Real clients from npm/PyPI against a loopback capture server.
conformance:
	$(CARGO) build --workspace --bins
	bash tests/conformance/run.sh

# Fuzz every parser for FUZZ_SECONDS each (cargo-fuzz; RUSTC_BOOTSTRAP lets the stable toolchain build it).
# The committed seeds (fuzz/seeds/<target>, read only) start each run; what the
# fuzzer finds goes to fuzz/corpus/<target>, which git ignores (fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = config_yaml config_json config_toml dotenv shell_startup jsonl_reader raw_http log_scan fingerprint redact send_policy
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; \
	done

# The fuzz targets compile against today's crates (no fuzzing, no nightly). The
# fuzz crate is its own workspace with its own Cargo.lock; it checks into the
# main target directory, so it reuses the dependencies `make lint` checked.
fuzz-check:
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --target-dir target --locked -q -- -D warnings

fmt:
	$(CARGO) fmt --all

# Format, clippy, and rustdoc without a warning (broken intra-doc links and the like).
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -q -- -D warnings
	RUSTDOCFLAGS='-D warnings' $(CARGO) doc --workspace --no-deps --locked -q

# Everything CI runs (.ci/run installs what the tests need first).
ci:
	bash .ci/run

clean:
	$(CARGO) clean
