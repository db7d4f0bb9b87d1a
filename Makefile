# sqlbundle: one non-recursive Makefile for both programs, tests and docs.
# Quick start: `make demo` and `make check` (see README.md).

PKG_CONFIG ?= pkg-config
CC ?= cc
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/sqlbundle
DESTDIR ?=
SANITIZE ?=
# Object and program folders (separate ones let builds run side by side).
O ?= build
B ?= bin
VERSION := 0.1.0

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wno-format-nonliteral -Wno-format-truncation
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
# PKCS#11 declarations only (p11-kit's pkcs11.h); modules are dlopen'ed.
P11_CFLAGS = $(shell $(PKG_CONFIG) --cflags p11-kit-1)
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

COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
PACK_OBJ := $(PACK_SRC:%.c=$(O)/%.o)
APPLY_OBJ := $(APPLY_SRC:%.c=$(O)/%.o)
# Program modules without main(), for unit tests.
PACK_LIB_OBJ := $(filter-out $(O)/src/pack/main.o,$(PACK_OBJ))
APPLY_LIB_OBJ := $(filter-out $(O)/src/apply/main.o,$(APPLY_OBJ))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

PROGS := $(B)/sqlbundle $(B)/sqlbundle-apply

.PHONY: all deps check unit integration demo demo-stop bench profile fuzz install \
	uninstall clean
.DEFAULT_GOAL := all

all: $(PROGS)

# Rebuild everything when the flags change (SANITIZE=..., CFLAGS=...).
$(O)/.flags: FORCE
	@mkdir -p $(O)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@
FORCE:

$(O)/src/common/archive.o $(O)/src/pack/writer.o: EXTRA_CFLAGS = $(ARCHIVE_CFLAGS)
$(O)/src/common/crypto.o $(O)/src/pack/keys.o: EXTRA_CFLAGS = $(CRYPTO_CFLAGS)
$(O)/src/apply/db.o: EXTRA_CFLAGS = $(PQ_CFLAGS) -pthread
$(O)/src/pack/pkcs11.o: EXTRA_CFLAGS = $(P11_CFLAGS)
$(O)/src/apply/jobs.o: EXTRA_CFLAGS = -pthread
$(O)/src/pack/import.o: EXTRA_CFLAGS = -DSB_DATADIR='"$(DATADIR)"'
$(O)/tests/%.o: EXTRA_CFLAGS = $(CMOCKA_CFLAGS) $(ARCHIVE_CFLAGS) $(CRYPTO_CFLAGS) $(P11_CFLAGS) -Isrc

$(O)/%.o: %.c $(O)/.flags
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -c -o $@ $<

$(B)/sqlbundle: $(PACK_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(CRYPTO_LIBS) -ldl

$(B)/sqlbundle-apply: $(APPLY_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $^ $(PQ_LIBS) $(ARCHIVE_LIBS) \
		$(CRYPTO_LIBS)

# Unit tests link static archives, so only the modules they use come in.
$(O)/libcommon.a: $(COMMON_OBJ)
$(O)/libpack.a: $(PACK_LIB_OBJ)
$(O)/libapply.a: $(APPLY_LIB_OBJ)
$(O)/lib%.a:
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/tests/test_%: $(O)/tests/unit/test_%.o $(O)/libpack.a $(O)/libapply.a $(O)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $< -Wl,--start-group $(O)/libpack.a \
		$(O)/libapply.a $(O)/libcommon.a -Wl,--end-group \
		$(CMOCKA_LIBS) $(PQ_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS) -ldl

deps:
	$(Q)scripts/deps.sh

unit: $(UNIT_BIN)
	$(Q)scripts/run-unit.sh $(UNIT_BIN)

integration: $(PROGS)
	$(Q)SB_BIN=$(abspath $(B)) tests/integration/run.sh

# What CI runs (.ci/run): packages, build, unit tests, integration tests.
check:
	$(Q)scripts/deps.sh deb mender hsm
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BIN)
	$(Q)scripts/archcheck.sh $(B)
	$(Q)scripts/run-unit.sh $(UNIT_BIN)
	$(Q)SB_BIN=$(abspath $(B)) tests/integration/run.sh

demo:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

demo-stop:
	$(Q)scripts/pgserver.sh stop .demo/pg

FUZZ_SECONDS ?= 60
fuzz:
	$(Q)scripts/deps.sh fuzz
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/fuzz.sh $(FUZZ_SECONDS)

bench:
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh

profile:
	$(Q)scripts/deps.sh profile
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/profile.sh

install: $(PROGS) install-mender
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(DATADIR)
	install -m 0644 docs/sqlbundle.schema.json $(DESTDIR)$(DATADIR)/
	install -m 0644 share/sqlbundle/alembic_import.py $(DESTDIR)$(DATADIR)/

uninstall: uninstall-mender
	rm -f $(DESTDIR)$(BINDIR)/sqlbundle $(DESTDIR)$(BINDIR)/sqlbundle-apply
	rm -f $(DESTDIR)$(MANDIR)/man1/sqlbundle.1 \
		$(DESTDIR)$(MANDIR)/man1/sqlbundle-apply.1
	rm -f $(DESTDIR)$(DATADIR)/sqlbundle.schema.json
	rm -f $(DESTDIR)$(DATADIR)/alembic_import.py

clean:
	rm -rf $(O) $(B)

# Fleet rollout (mender/): the HQ artifact wrapper, the store's Mender
# update module and inventory script. Mender reads only /usr/share/mender:
# a manual store install sets MENDERDIR=/usr/share/mender.
MENDERDIR ?= $(PREFIX)/share/mender
install-mender:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MENDERDIR)/modules/v3 \
		$(DESTDIR)$(MENDERDIR)/inventory
	install -m 0755 mender/sqlbundle-mender-artifact $(DESTDIR)$(BINDIR)/
	install -m 0755 mender/sqlbundle $(DESTDIR)$(MENDERDIR)/modules/v3/
	install -m 0755 mender/mender-inventory-sqlbundle \
		$(DESTDIR)$(MENDERDIR)/inventory/

uninstall-mender:
	rm -f $(DESTDIR)$(BINDIR)/sqlbundle-mender-artifact \
		$(DESTDIR)$(MENDERDIR)/modules/v3/sqlbundle \
		$(DESTDIR)$(MENDERDIR)/inventory/mender-inventory-sqlbundle \
		$(DESTDIR)$(MANDIR)/man1/sqlbundle-mender-artifact.1

# Debian packages sqlbundle and sqlbundle-apply, built from a copy of the
# tree: build/deb/*.deb (scripts/deb.sh).
deb:
	$(Q)scripts/deps.sh deb
	$(Q)scripts/deb.sh

.PHONY: install-mender uninstall-mender deb

-include $(shell find $(O) -path $(O)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
