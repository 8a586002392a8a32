# keyhole: build, test, man pages, completions, install, bench, conformance.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man/man1
CARGO  ?= cargo
BINS    = keyhole keyhole-find keyhole-env keyhole-probe keyhole-classify keyhole-report keyhole-capture keyhole-fix
# Pages of the umbrella's subcommands (keyhole-doctor.1), besides one per binary.
SUBPAGES = doctor
# Profiles (Cargo.toml; cold build times on 2 cores in README.md#two-commands):
# `release` for make doctor, make build/install, cargo install and the bench
# (no LTO), `dist` for packages (thin LTO): make install PROFILE=dist.
PROFILE ?= release
RELEASE = target/$(PROFILE)
KEYHOLE ?= target/release/keyhole

.PHONY: schema all build dist test unit integration man completions install bench conformance doctor doctor-build doctor-run fuzz fuzz-check fmt lint ci clean

all: build

build:
	@echo "building every keyhole binary ($(PROFILE) profile; cold build times: README.md#two-commands)…"
	$(CARGO) build --profile $(PROFILE) --locked --workspace --bins

# Packaged binaries: thin LTO, 4 codegen units (smaller, a little faster).
dist:
	$(MAKE) build PROFILE=dist

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
	for s in $(SUBPAGES); do target/debug/keyhole --generate man --generate-for $$s > man/keyhole-$$s.1; done

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

# Build only keyhole (doctor runs every stage in process), then diagnose
# this machine: the newcomer's first command. The binary exits 0 (nothing
# wrong), 1 (a key problem, or no AI tool configured) or 2 (it could not do
# its work); make fails only on 2, so findings never read as a build error.
# DOCTOR_FLAGS passes flags on: make doctor DOCTOR_FLAGS=--offline
doctor: doctor-build
	@$(MAKE) --no-print-directory doctor-run

doctor-build:
	@echo "building keyhole (a first build takes about 2½ minutes on 2 idle cores, longer while other builds run; seconds after that)…"
	$(CARGO) build --release --locked -p keyhole --bin keyhole

doctor-run:
	@$(KEYHOLE) doctor $(DOCTOR_FLAGS); status=$$?; echo; case $$status in \
	  0) echo "make doctor: done, every key keyhole checked works.";; \
	  1) echo "make doctor: done. keyhole found the problems above, or no AI tool to check (exit status 1); the build is fine.";; \
	  *) echo "make doctor: keyhole doctor could not do all its work (exit status $$status)."; exit $$status;; \
	esac

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
