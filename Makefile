# sqlbundle: one non-recursive Makefile for both programs, tests and docs.
# Quick start: `make demo` and `make check` (see README.md).

PKG_CONFIG ?= pkg-config
CC ?= cc
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
SANITIZE ?=
VERSION := 0.1.0

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wno-format-nonliteral
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -Iinclude \
	-DSB_VERSION='"$(VERSION)"' -MMD -MP
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Evaluated lazily, so `make deps` can install the .pc files first.
ARCHIVE_CFLAGS = $(shell $(PKG_CONFIG) --cflags libarchive)
ARCHIVE_LIBS = $(shell $(PKG_CONFIG) --libs libarchive)
CRYPTO_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcrypto)
CRYPTO_LIBS = $(shell $(PKG_CONFIG) --libs libcrypto)
PQ_CFLAGS = $(shell $(PKG_CONFIG) --cflags libpq)
PQ_LIBS = $(shell $(PKG_CONFIG) --libs libpq)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := $(wildcard src/common/*.c)
PACK_SRC := $(wildcard src/pack/*.c)
APPLY_SRC := $(wildcard src/apply/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=build/%.o)
PACK_OBJ := $(PACK_SRC:%.c=build/%.o)
APPLY_OBJ := $(APPLY_SRC:%.c=build/%.o)
# Program modules without main(), for unit tests.
PACK_LIB_OBJ := $(filter-out build/src/pack/main.o,$(PACK_OBJ))
APPLY_LIB_OBJ := $(filter-out build/src/apply/main.o,$(APPLY_OBJ))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

PROGS := bin/sqlbundle bin/sqlbundle-apply

.PHONY: all deps check unit integration demo demo-stop bench fuzz install \
	uninstall clean
.DEFAULT_GOAL := all

all: $(PROGS)

# Rebuild everything when the flags change (SANITIZE=..., CFLAGS=...).
build/.flags: FORCE
	@mkdir -p build
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@
FORCE:

build/src/common/archive.o build/src/pack/writer.o: EXTRA_CFLAGS = $(ARCHIVE_CFLAGS)
build/src/common/crypto.o build/src/pack/keys.o: EXTRA_CFLAGS = $(CRYPTO_CFLAGS)
build/src/apply/db.o: EXTRA_CFLAGS = $(PQ_CFLAGS)
build/tests/%.o: EXTRA_CFLAGS = $(CMOCKA_CFLAGS) -Isrc

build/%.o: %.c build/.flags
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -c -o $@ $<

bin/sqlbundle: $(PACK_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(CRYPTO_LIBS)

bin/sqlbundle-apply: $(APPLY_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PQ_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS)

# Unit tests link static archives, so only the modules they use come in.
build/libcommon.a: $(COMMON_OBJ)
build/libpack.a: $(PACK_LIB_OBJ)
build/libapply.a: $(APPLY_LIB_OBJ)
build/lib%.a:
	$(Q)rm -f $@ && ar rcs $@ $^

build/tests/test_%: build/tests/unit/test_%.o build/libpack.a build/libapply.a build/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group build/libpack.a \
		build/libapply.a build/libcommon.a -Wl,--end-group \
		$(CMOCKA_LIBS) $(PQ_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS)

deps:
	$(Q)scripts/deps.sh

unit: $(UNIT_BIN)
	$(Q)scripts/run-unit.sh $(UNIT_BIN)

integration: $(PROGS)
	$(Q)tests/integration/run.sh

# What CI runs (.ci/run): packages, build, unit tests, integration tests.
check:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BIN)
	$(Q)scripts/run-unit.sh $(UNIT_BIN)
	$(Q)tests/integration/run.sh

demo:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

demo-stop:
	$(Q)scripts/pgserver.sh stop .demo/pg

bench:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sqlbundle $(DESTDIR)$(BINDIR)/sqlbundle-apply
	rm -f $(DESTDIR)$(MANDIR)/man1/sqlbundle.1 \
		$(DESTDIR)$(MANDIR)/man1/sqlbundle-apply.1

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
