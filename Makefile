# passwdpop: build, demo and test entry points.
#
#   make demo   build, then change passwords in a copy of sample/vmail with the
#               CLI and through the C ABI, checking them with crypt(3)
#   make test   formatting, lints, Rust tests, C tests under valgrind, the
#               Python, Perl and PHP bindings' suites, the passwdpopd daemon
#               against curl, raw poppassd and Roundcube

CARGO ?= cargo
CC ?= cc
VALGRIND ?= valgrind

# One source of truth for the version: Cargo.toml.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
SONAME_MAJOR := $(firstword $(subst ., ,$(VERSION)))

LIB_DIR := target/release
LIB := $(LIB_DIR)/libpasswdpop.so
CLI := $(LIB_DIR)/passwdpop
C_BUILD := c-tests/build
C_FLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -pthread -Iinclude \
	-DPASSWDPOP_EXPECTED_VERSION='"$(VERSION)"'
C_LIBS := -L$(LIB_DIR) -lpasswdpop -lcrypt -Wl,-rpath,$(abspath $(LIB_DIR))
C_TESTS := $(C_BUILD)/test_api $(C_BUILD)/test_threads $(C_BUILD)/test_admin
VALGRIND_FLAGS := --quiet --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --trace-children=yes

.PHONY: all lib hooks-lib demo test stress lint rust-test daemon-test c-test interop install \
	uninstall deb package-test bindings-test clean FORCE

all: lib

# cargo decides whether to rebuild; the SONAME symlink is what a program
# linked with -lpasswdpop asks for at run time, and cargo never makes it.
lib: FORCE
	$(CARGO) build --release
	ln -sf libpasswdpop.so $(LIB_DIR)/libpasswdpop.so.$(SONAME_MAJOR)

$(C_BUILD)/%: c-tests/%.c c-tests/check.h c-tests/fixture.h include/passwdpop.h lib
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) $< -o $@ $(C_LIBS)

demo: $(C_BUILD)/demo
	sh sample/demo.sh $(CLI) $(C_BUILD)/demo

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

rust-test:
	$(CARGO) test

# passwdpopd (serve/): its own package, so the library never links tokio.
daemon-test:
	$(CARGO) test -p passwdpopd

# A build with the test-hooks feature, for test_panic only; never installed.
HOOKS_LIB_DIR := target/hooks/release
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

hooks-lib: FORCE
	$(CARGO) build --release --lib --features test-hooks --target-dir target/hooks
	ln -sf libpasswdpop.so $(HOOKS_LIB_DIR)/libpasswdpop.so.$(SONAME_MAJOR)

$(C_BUILD)/test_panic: c-tests/test_panic.c c-tests/check.h include/passwdpop.h hooks-lib
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) $< -o $@ -L$(HOOKS_LIB_DIR) -lpasswdpop -Wl,-rpath,$(abspath $(HOOKS_LIB_DIR))

$(C_BUILD)/asan_%: c-tests/%.c c-tests/check.h c-tests/fixture.h include/passwdpop.h lib
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) $(SANITIZE) $< -o $@ $(C_LIBS)

c-test: $(C_TESTS) $(C_BUILD)/test_panic $(C_BUILD)/asan_test_api $(C_BUILD)/asan_test_threads \
	$(C_BUILD)/asan_test_admin
	@for test in $(C_TESTS); do \
		echo "== $$test (valgrind memcheck)"; \
		$(VALGRIND) $(VALGRIND_FLAGS) $$test || exit 1; \
	done
	@for test in $(C_BUILD)/asan_test_api $(C_BUILD)/asan_test_threads $(C_BUILD)/asan_test_admin; do \
		echo "== $$test (AddressSanitizer, UndefinedBehaviorSanitizer)"; \
		$$test || exit 1; \
	done
	@echo "== $(C_BUILD)/test_panic (the three 'panicked at' messages below are forced by the test)"
	$(C_BUILD)/test_panic
	sh c-tests/setuid.sh $(LIB_DIR)

# Dovecot, Exim and the other independent verifiers against our files.
interop:
	$(CARGO) test --features interop --test interop -- --test-threads=1

# The Python, Perl and PHP bindings' suites against this build (and the
# test-hooks build, for a caught panic). Python is Debian's /usr/bin/python3
# with python3-pytest, as CI has it, whatever python3 comes first in PATH.
PYTHON ?= /usr/bin/python3
PROVE ?= prove
PHPUNIT ?= phpunit
BINDINGS_ENV := PASSWDPOP_LIBRARY=$(abspath $(LIB_DIR))/libpasswdpop.so.$(SONAME_MAJOR) \
	PASSWDPOP_HOOKS_LIBRARY=$(abspath $(HOOKS_LIB_DIR))/libpasswdpop.so.$(SONAME_MAJOR) \
	PYTHONDONTWRITEBYTECODE=1

bindings-test: lib hooks-lib
	$(BINDINGS_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider bindings/python
	$(BINDINGS_ENV) $(PROVE) bindings/perl/t
	cd bindings/php && $(BINDINGS_ENV) $(PHPUNIT)

test: lint rust-test daemon-test c-test interop package-test bindings-test

# The long variants of the torture tests (minutes): more writers, more kills;
# SHA512-crypt against libxcrypt's crypt_r on a million random cases (about
# 2.5 hours on 2 idle cores; a stopped run goes on with the seed it printed,
# PASSWDPOP_SHA512CRYPT_SEED=S PASSWDPOP_SHA512CRYPT_FIRST=N, and the cases
# left as PASSWDPOP_SHA512CRYPT_CASES).
stress: $(C_BUILD)/test_threads
	$(C_BUILD)/test_threads 8 8 10
	PASSWDPOP_KILLS=1000 $(CARGO) test --release --test crash -- --nocapture
	PASSWDPOP_SHA512CRYPT_CASES=$${PASSWDPOP_SHA512CRYPT_CASES:-1000000} $(CARGO) test --release --lib \
		sha512crypt::tests::random_cases_match_crypt_r -- --nocapture

# Installation. Multiarch library directories work: LIBDIR=/usr/lib/x86_64-linux-gnu.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The README (with the Exim and Dovecot configuration) and its companions,
# so they are at hand on a host without a network.
DOCDIR ?= $(PREFIX)/share/doc/passwdpop
DOCS := README.md RELIABILITY.md BENCHMARKS.md
# Where each shell looks for completions of a command it has not loaded yet.
# Debian's zsh searches vendor-completions below /usr, site-functions elsewhere.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/share/zsh/vendor-completions,$(PREFIX)/share/zsh/site-functions)
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DESTDIR ?=
SOFILE := libpasswdpop.so.$(VERSION)
SONAME := libpasswdpop.so.$(SONAME_MAJOR)
# What a static link of the Rust code needs (`cargo rustc --lib --crate-type
# staticlib -- --print native-static-libs`); the packaging test links with it.
LIBS_PRIVATE := -lcrypt -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
INSTALLED := $(LIBDIR)/$(SOFILE) $(LIBDIR)/$(SONAME) $(LIBDIR)/libpasswdpop.so \
	$(LIBDIR)/libpasswdpop.a $(INCLUDEDIR)/passwdpop.h $(PKGCONFIGDIR)/passwdpop.pc \
	$(BINDIR)/passwdpop $(MANDIR)/man1/passwdpop.1 $(addprefix $(DOCDIR)/,$(DOCS)) \
	$(BASHCOMPDIR)/passwdpop $(ZSHCOMPDIR)/_passwdpop $(FISHCOMPDIR)/passwdpop.fish

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0644 $(LIB_DIR)/libpasswdpop.so $(DESTDIR)$(LIBDIR)/$(SOFILE)
	ln -sf $(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpasswdpop.so
	install -m 0644 $(LIB_DIR)/libpasswdpop.a $(DESTDIR)$(LIBDIR)/libpasswdpop.a
	install -m 0644 include/passwdpop.h $(DESTDIR)$(INCLUDEDIR)/passwdpop.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' \
		packaging/passwdpop.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/passwdpop.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/passwdpop.pc
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/passwdpop
	install -m 0644 man/passwdpop.1 $(DESTDIR)$(MANDIR)/man1/passwdpop.1
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)
	install -m 0644 completions/passwdpop.bash $(DESTDIR)$(BASHCOMPDIR)/passwdpop
	install -m 0644 completions/_passwdpop $(DESTDIR)$(ZSHCOMPDIR)/_passwdpop
	install -m 0644 completions/passwdpop.fish $(DESTDIR)$(FISHCOMPDIR)/passwdpop.fish

# Exactly the files install wrote; directories (LIBDIR...) are shared and
# stay, except the documentation directory, which is ours alone.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# Debian packages libpasswdpop0, libpasswdpop-dev and passwdpopd in target/deb/,
# dated SOURCE_DATE_EPOCH or else the last commit.
deb: lib daemon
	sh packaging/deb.sh $(VERSION) $(SONAME_MAJOR)

# The daemon, for the passwdpopd package.
daemon: FORCE
	$(CARGO) build --release -p passwdpopd

# The install tree, the .deb and pkg-config, checked by a C consumer.
package-test: deb
	sh c-tests/packaging.sh $(VERSION) $(SONAME_MAJOR)

clean:
	$(CARGO) clean
	rm -rf $(C_BUILD)

FORCE:
