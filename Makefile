# hoop: plain Makefile. `make`, `make check`, `make check-asan`,
# `make install DESTDIR=... PREFIX=...`.

CC        ?= cc
PKG_CONFIG ?= pkg-config
B         ?= build
SAN       ?=
OPT       ?= -O2

PREFIX    ?= /usr
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
MULTIARCH ?= $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR    ?= /lib/$(MULTIARCH)
PAMDIR    ?= $(LIBDIR)/security
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/hoop
# psql, pg_dump and kubectl as links to the wrappers: first in hoop-shell's
# PATH (shell_path in hoop.conf).
WRAPPERDIR ?= $(PREFIX)/lib/hoop/bin
HOOP_GROUP ?= hoop

PKGS      := libconfuse sqlite3 libcrypto jansson libpcre2-8 libcurl zlib
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS))

CPPFLAGS  += -D_GNU_SOURCE -Ilib \
	     -DHOOP_SYSCONFDIR='"$(SYSCONFDIR)"' \
	     -DHOOP_LOCALSTATEDIR='"$(LOCALSTATEDIR)"'
CPPFLAGS  += -DHOOP_BINDIR='"$(BINDIR)"' -DHOOP_WRAPPERDIR='"$(WRAPPERDIR)"'
# Where make install puts things, for hoopctl setup and doctor.
CPPFLAGS  += -DHOOP_SBINDIR='"$(SBINDIR)"' -DHOOP_GROUP='"$(HOOP_GROUP)"' \
	     -DHOOP_UNITDIR='"$(PREFIX)/lib/systemd/system"'
CFLAGS    ?= $(OPT) -g
CFLAGS    += -std=c11 -Wall -Wextra -Werror -fPIC -fno-strict-aliasing \
	     -fstack-protector-strong $(SAN) $(PKG_CFLAGS)
LDFLAGS   += $(SAN) -Wl,-z,relro,-z,now
# libpg_query (hoop-pgwrap's SQL parser) exports its own strnlen: libc
# comes first, so that nothing else comes to depend on it.
LIBS      := $(PKG_LIBS) -lpthread -lc -lpg_query

LIB_SRCS  := $(wildcard lib/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIBHOOP   := $(B)/libhoop.a

PROGRAMS  := $(B)/hoopctl $(B)/hoop-askpass $(B)/hoop-ssh $(B)/hoop-shell
PROGRAMS  += $(B)/hoop-pgwrap
PROGRAMS  += $(B)/hoop-kubewrap
MODULES   := $(B)/pam_hoop.so $(B)/libnss_hoop.so.2

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(B)/tests/%)

.PHONY: all check check-asan tests install clean demo fuzz-libfuzzer

all: $(PROGRAMS) $(MODULES)

$(B)/obj/%.o: %.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBHOOP): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/hoopctl: $(patsubst %.c,$(B)/obj/%.o,$(wildcard hoopctl/*.c)) $(LIBHOOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/hoop-askpass: $(B)/obj/hoop-ssh/hoop-askpass.o $(LIBHOOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# hoop-ssh, the CI-side client: the only program that links libssh.
HOOP_SSH_SRCS := $(filter-out hoop-ssh/hoop-askpass.c,$(wildcard hoop-ssh/*.c))
$(B)/obj/hoop-ssh/%.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags libssh)
$(B)/obj/hoop-ssh/%.o: $(wildcard hoop-ssh/*.h)
$(B)/hoop-ssh: $(HOOP_SSH_SRCS:%.c=$(B)/obj/%.o) $(LIBHOOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs libssh) $(LIBS)

$(B)/obj/hoop-shell/%.o: $(wildcard hoop-shell/*.h)
$(B)/hoop-shell: $(patsubst %.c,$(B)/obj/%.o,$(wildcard hoop-shell/*.c)) $(LIBHOOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# A test build of hoop-shell reading its configuration from the build
# directory (the installed one reads only HOOP_SYSCONFDIR/hoop/hoop.conf),
# for the suites that run it as a login shell, setgid or not.
SHELL_TEST_CONF := $(abspath $(B))/tests/shell/hoop.conf
$(B)/obj/tests/shell/main.o: hoop-shell/main.c $(wildcard lib/*.h hoop-shell/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DHOOP_SHELL_CONFIG='"$(SHELL_TEST_CONF)"' $(CFLAGS) -c -o $@ $<
$(B)/tests/shell/hoop-shell: $(B)/obj/tests/shell/main.o $(patsubst %.c,$(B)/obj/%.o,$(filter-out hoop-shell/main.c,$(wildcard hoop-shell/*.c))) $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

tests: $(B)/tests/shell/hoop-shell

# hoop-pgwrap, the PostgreSQL proxy: the only program that links libssl
# (TLS to the targets).
SSL_LIBS := $(shell $(PKG_CONFIG) --libs libssl)
$(B)/obj/hoop-pgwrap/%.o: $(wildcard hoop-pgwrap/*.h)
$(B)/hoop-pgwrap: $(patsubst %.c,$(B)/obj/%.o,$(wildcard hoop-pgwrap/*.c)) $(LIBHOOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(LIBS)

# Its test build reads hoop.conf from the build directory and runs the
# psql and pg_dump the suite puts there (tests/bats/pgwrap.bats).
PGWRAP_TEST := $(abspath $(B))/tests/pgwrap
$(B)/obj/tests/pgwrap/main.o: hoop-pgwrap/main.c $(wildcard lib/*.h hoop-pgwrap/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DHOOP_PGWRAP_CONFIG='"$(PGWRAP_TEST)/hoop.conf"' \
	    -DHOOP_PGWRAP_PSQL='"$(PGWRAP_TEST)/bin/psql"' \
	    -DHOOP_PGWRAP_PG_DUMP='"$(PGWRAP_TEST)/bin/pg_dump"' $(CFLAGS) -c -o $@ $<
$(B)/tests/pgwrap/hoop-pgwrap: $(B)/obj/tests/pgwrap/main.o $(patsubst %.c,$(B)/obj/%.o,$(filter-out hoop-pgwrap/main.c,$(wildcard hoop-pgwrap/*.c))) $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(LIBS)

tests: $(B)/tests/pgwrap/hoop-pgwrap

# A libpq client for the suite (binary results, pipelines).
$(B)/obj/tests/tools/pgwrap-pq.o: CPPFLAGS += $(shell $(PKG_CONFIG) --cflags libpq)
$(B)/tests/pgwrap-pq: $(B)/obj/tests/tools/pgwrap-pq.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs libpq)

# The client's command line (hoop-pgwrap/args.c): unit test and fuzz target.
$(B)/tests/test_pgwrap_args: $(B)/obj/tests/unit/test_pgwrap_args.o $(B)/obj/hoop-pgwrap/args.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/tests/fuzz_pgwrap_args: $(B)/obj/tests/fuzz/fuzz_pgwrap_args.o $(B)/obj/tests/fuzz/standalone.o $(B)/obj/hoop-pgwrap/args.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# hoop-kubewrap, the Kubernetes API proxy (TLS to the API server).
$(B)/obj/hoop-kubewrap/%.o: $(wildcard hoop-kubewrap/*.h)
$(B)/hoop-kubewrap: $(patsubst %.c,$(B)/obj/%.o,$(wildcard hoop-kubewrap/*.c)) $(LIBHOOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(LIBS)

# Its test build reads hoop.conf from the build directory and runs the
# kubectl the suite puts there (tests/bats/kubewrap.bats).
KUBEWRAP_TEST := $(abspath $(B))/tests/kubewrap
$(B)/obj/tests/kubewrap/main.o: hoop-kubewrap/main.c $(wildcard lib/*.h hoop-kubewrap/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DHOOP_KUBEWRAP_CONFIG='"$(KUBEWRAP_TEST)/hoop.conf"' \
	    -DHOOP_KUBEWRAP_KUBECTL='"$(KUBEWRAP_TEST)/bin/kubectl"' $(CFLAGS) -c -o $@ $<
$(B)/tests/kubewrap/hoop-kubewrap: $(B)/obj/tests/kubewrap/main.o $(patsubst %.c,$(B)/obj/%.o,$(filter-out hoop-kubewrap/main.c,$(wildcard hoop-kubewrap/*.c))) $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(LIBS)

tests: $(B)/tests/kubewrap/hoop-kubewrap

# kubectl's command line (hoop-kubewrap/args.c): unit test and fuzz target.
$(B)/tests/test_kubewrap_args: $(B)/obj/tests/unit/test_kubewrap_args.o $(B)/obj/hoop-kubewrap/args.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/tests/fuzz_kubewrap_args: $(B)/obj/tests/fuzz/fuzz_kubewrap_args.o $(B)/obj/tests/fuzz/standalone.o $(B)/obj/hoop-kubewrap/args.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
# The response masker (hoop-kubewrap/masking.c): unit test and fuzz target.
$(B)/tests/test_kubewrap_mask: $(B)/obj/tests/unit/test_kubewrap_mask.o $(B)/obj/hoop-kubewrap/masking.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/tests/fuzz_kubewrap_mask: $(B)/obj/tests/fuzz/fuzz_kubewrap_mask.o $(B)/obj/tests/fuzz/standalone.o $(B)/obj/hoop-kubewrap/masking.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Modules link the internal library statically and export only their
# entry points (version scripts); tests/bats/exports.bats checks it.
$(B)/pam_hoop.so: $(B)/obj/pam_hoop/pam_hoop.o $(LIBHOOP) pam_hoop/pam_hoop.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=pam_hoop/pam_hoop.map \
	    -o $@ $(B)/obj/pam_hoop/pam_hoop.o $(LIBHOOP) $(LIBS) -lpam

$(B)/libnss_hoop.so.2: $(B)/obj/nss_hoop/nss_hoop.o $(LIBHOOP) nss_hoop/nss_hoop.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libnss_hoop.so.2 \
	    -Wl,--version-script=nss_hoop/nss_hoop.map \
	    -o $@ $(B)/obj/nss_hoop/nss_hoop.o $(LIBHOOP) $(LIBS)

$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -ldl

# Fuzz targets: LLVMFuzzerTestOneInput plus a stub main that replays a
# corpus, so `make check` runs them with any compiler.
$(B)/tests/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(B)/obj/tests/fuzz/standalone.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# A test build of nss_hoop: the same source, reading its data file from
# the build directory, for the unit tests, the benchmark and the sshd
# harness. Never installed; the installed module has no way to be pointed
# at another file.
NSS_TEST_DB := $(abspath $(B))/tests/nss/passwd.db

$(B)/obj/tests/nss/nss_hoop.o: nss_hoop/nss_hoop.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DHOOP_NSSDB_PATH='"$(NSS_TEST_DB)"' $(CFLAGS) -c -o $@ $<

$(B)/tests/nss/libnss_hoop.so.2: $(B)/obj/tests/nss/nss_hoop.o $(LIBHOOP) nss_hoop/nss_hoop.map
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libnss_hoop.so.2 \
	    -Wl,--version-script=nss_hoop/nss_hoop.map \
	    -o $@ $< $(LIBHOOP) $(LIBS)

tests: $(B)/tests/nss/libnss_hoop.so.2

$(B)/tests/hoop-pam-conv: $(B)/obj/tests/tools/hoop-pam-conv.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lpam

$(B)/tests/%: $(B)/obj/tests/tools/%.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

tests: all $(UNIT_BINS) $(FUZZ_BINS) $(TOOL_BINS)

check: tests
	tests/run-tests $(B)

check-asan:
	$(MAKE) B=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    check

# Real libFuzzer builds (clang), for fuzzing campaigns outside `make check`.
fuzz-libfuzzer:
	$(MAKE) B=build-fuzz CC=clang OPT=-O1 \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined" all $(LIBHOOP:build/%=build-fuzz/%)
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	    case $$n in \
	    fuzz_pgwrap_args) x=build-fuzz/obj/hoop-pgwrap/args.o ;; \
	    fuzz_kubewrap_args) x=build-fuzz/obj/hoop-kubewrap/args.o ;; \
	    fuzz_kubewrap_mask) x=build-fuzz/obj/hoop-kubewrap/masking.o ;; \
	    *) x= ;; esac; \
	    clang -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PKG_CFLAGS) \
	    -o build-fuzz/$$n $$f $$x build-fuzz/libhoop.a $(LIBS) || exit 1; done

demo: all $(TOOL_BINS)
	demo/run

# Benchmark: prints figures, passes or fails nothing; not part of check.
.PHONY: bench
bench: all $(B)/bench/bench_jwt
	tests/bench/run $(B)

$(B)/bench/bench_pty: $(B)/obj/tests/bench/bench_pty.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(B)/bench/bench_jwt: $(B)/obj/tests/bench/bench_jwt.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

bench: $(B)/bench/bench_nss

$(B)/bench/bench_nss: $(B)/obj/tests/bench/bench_nss.o $(LIBHOOP) $(B)/tests/nss/libnss_hoop.so.2
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(B)/obj/tests/bench/bench_nss.o $(LIBHOOP) $(LIBS) -ldl

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PAMDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/hoop $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop/recordings $(DESTDIR)$(WRAPPERDIR)
	install -m 0644 $(B)/pam_hoop.so $(DESTDIR)$(PAMDIR)/pam_hoop.so
	install -m 0644 $(B)/libnss_hoop.so.2 $(DESTDIR)$(LIBDIR)/libnss_hoop.so.2
	install -m 2755 $(B)/hoopctl $(DESTDIR)$(SBINDIR)/hoopctl
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/hoop-askpass $(B)/hoop-ssh $(DESTDIR)$(BINDIR)/
	@# setuid root: the recorder must be out of the user's reach
	@# (hoop-shell/privs.c); setgid hoop for the files it creates.
	install -m 6755 $(B)/hoop-shell $(DESTDIR)$(BINDIR)/hoop-shell
	install -m 2755 $(B)/hoop-pgwrap $(DESTDIR)$(BINDIR)/hoop-pgwrap
	ln -sf $(BINDIR)/hoop-pgwrap $(DESTDIR)$(WRAPPERDIR)/psql
	ln -sf $(BINDIR)/hoop-pgwrap $(DESTDIR)$(WRAPPERDIR)/pg_dump
	install -m 2755 $(B)/hoop-kubewrap $(DESTDIR)$(BINDIR)/hoop-kubewrap
	ln -sf $(BINDIR)/hoop-kubewrap $(DESTDIR)$(WRAPPERDIR)/kubectl
	install -m 0644 man/hoop.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/hoopctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/nss_hoop.8 man/pam_hoop.8 man/hoop-shell.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/hoop-askpass.1 man/hoop-ssh.1 man/hoop-pgwrap.1 \
	    man/hoop-kubewrap.1 \
	    $(DESTDIR)$(MANDIR)/man1/
	install -d -m 0755 $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop-nss \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop-home \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@SBINDIR@|$(SBINDIR)|g' etc/systemd/hoop-gc.service \
	    >$(DESTDIR)$(PREFIX)/lib/systemd/system/hoop-gc.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/hoop-gc.service
	install -m 0644 etc/systemd/hoop-gc.timer $(DESTDIR)$(PREFIX)/lib/systemd/system/
	install -m 0644 etc/hoop.conf $(DESTDIR)$(DOCDIR)/examples/hoop.conf
	install -m 0644 etc/pam.d/sshd $(DESTDIR)$(DOCDIR)/examples/pam.d-sshd
	install -m 0644 etc/sshd_config.d/hoop.conf $(DESTDIR)$(DOCDIR)/examples/sshd_config-hoop.conf
	install -m 0644 etc/nsswitch.conf.hoop $(DESTDIR)$(DOCDIR)/examples/nsswitch.conf.hoop
	install -m 0644 etc/examples/github-actions-deploy.yml \
	    etc/examples/gitlab-ci-deploy.yml $(DESTDIR)$(DOCDIR)/examples/
	test -e $(DESTDIR)$(SYSCONFDIR)/hoop/hoop.conf || \
	    install -m 0644 etc/hoop.conf $(DESTDIR)$(SYSCONFDIR)/hoop/hoop.conf
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/hoop/secrets
	@# The key of hash masks (mask_key_file): made once, never replaced.
	test -e $(DESTDIR)$(SYSCONFDIR)/hoop/secrets/mask-key || \
	    (umask 027 && openssl rand -hex 32 \
	    >$(DESTDIR)$(SYSCONFDIR)/hoop/secrets/mask-key)
	chmod 2770 $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop/recordings
	@# The trust model needs the hoop group: create it on a live install,
	@# and hand it the setgid programs, secrets and state.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	    getent group $(HOOP_GROUP) >/dev/null || groupadd --system $(HOOP_GROUP); \
	fi
	@if getent group $(HOOP_GROUP) >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    chgrp $(HOOP_GROUP) $(DESTDIR)$(SBINDIR)/hoopctl \
	        $(DESTDIR)$(BINDIR)/hoop-shell $(DESTDIR)$(BINDIR)/hoop-pgwrap \
	        $(DESTDIR)$(BINDIR)/hoop-kubewrap \
	        $(DESTDIR)$(SYSCONFDIR)/hoop/secrets \
	        $(DESTDIR)$(SYSCONFDIR)/hoop/secrets/mask-key $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop \
	        $(DESTDIR)$(LOCALSTATEDIR)/lib/hoop/recordings && \
	    chmod 2755 $(DESTDIR)$(SBINDIR)/hoopctl \
	        $(DESTDIR)$(BINDIR)/hoop-pgwrap \
	        $(DESTDIR)$(BINDIR)/hoop-kubewrap && \
	    chmod 6755 $(DESTDIR)$(BINDIR)/hoop-shell; \
	else echo "note: group $(HOOP_GROUP) missing: run 'groupadd --system $(HOOP_GROUP)' and chgrp the setgid programs"; fi

clean:
	rm -rf build build-asan build-fuzz

# Recording throughput (tests/bench/bench_recording.c): figures only.
bench: $(B)/bench/bench_recording

$(B)/bench/bench_recording: $(B)/obj/tests/bench/bench_recording.o $(LIBHOOP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
