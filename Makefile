# dlock: plain GNU make. User CFLAGS/LDFLAGS are added to ours.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config

# Completions go where the shells look: the directories that the
# bash-completion and fish packages name, moved under PREFIX (Debian's
# bash-completion.pc sets datadir apart from prefix, hence both), else
# the usual paths; zsh's Debian directory for PREFIX=/usr, site-functions
# otherwise. Recursive (=) so that pkg-config runs only for install.
comp_dir = $(or $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) \
	--define-variable=datadir=$(DATADIR) \
	--variable=completionsdir $(1) 2>/dev/null),$(2))
BASHCOMPDIR ?= $(call comp_dir,bash-completion,$(DATADIR)/bash-completion/completions)
FISHCOMPDIR ?= $(call comp_dir,fish,$(DATADIR)/fish/vendor_completions.d)
ZSHCOMPDIR ?= $(if $(filter /usr,$(PREFIX)),$(DATADIR)/zsh/vendor-completions,$(DATADIR)/zsh/site-functions)
BUILD ?= build
SANITIZE ?=

# Asked on first use, not when the Makefile is read: make demo and make
# check may install pkg-config and hiredis (deps-present) before compiling.
HIREDIS_CFLAGS = $(eval HIREDIS_CFLAGS := $(shell $(PKG_CONFIG) --cflags \
	hiredis 2>/dev/null))$(HIREDIS_CFLAGS)
HIREDIS_LIBS = $(eval HIREDIS_LIBS := $(shell $(PKG_CONFIG) --libs hiredis \
	2>/dev/null || echo -lhiredis))$(HIREDIS_LIBS)
# hiredis is linked statically (Debian's libhiredis-dev ships libhiredis.a):
# one shared object fewer for the dynamic loader to find, map and relocate
# at every start, which a short "dlock run" pays in full. HIREDIS_STATIC=0
# links libhiredis.so instead, for a system without the archive, or to
# have hiredis updates reach dlock without a rebuild.
HIREDIS_STATIC ?= 1
HIREDIS_LINK = $(if $(filter 1,$(HIREDIS_STATIC)),$(patsubst \
	-lhiredis,-l:libhiredis.a,$(HIREDIS_LIBS)),$(HIREDIS_LIBS))

WARNINGS = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wvla -fno-common
ifeq ($(DEVELOPER),1)
WARNINGS += -Werror
endif
SAN_FLAGS = $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all)
OPT ?= -O2
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(OPT) -g $(WARNINGS) $(SAN_FLAGS) \
	$(HIREDIS_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
LIBS = $(HIREDIS_LINK) -lpthread

LIB_SRC = $(wildcard lib/*.c lib/*/*.c)
CMD_SRC = $(wildcard cmd/*.c)
UNIT_SRC = $(wildcard tests/unit/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ = $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:%.c=$(BUILD)/%)

DLOCK = $(BUILD)/dlock

.PHONY: all check unit integration install uninstall clean asan tsan \
	lint demo deps bench torture scripts

all: $(DLOCK)

# cmd/ sees the public header only; lib/ sees its private ones too.
$(BUILD)/cmd/%.o: cmd/%.c | deps-present
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilib/include -c -o $@ $<

$(BUILD)/lib/%.o: lib/%.c | deps-present
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilib/include -Ilib -c -o $@ $<

# The Lua scripts. Each one the server runs is common.lua followed by the
# script's own file: "make scripts" writes those texts to $(BUILD)/scripts/,
# for redis-cli --eval, and embed.sh turns the very same files into the C
# text that scripts.c includes, each with its SHA-1. scripts.o depends on
# that through its -MMD file; the explicit rule is for the first build.
LUA_DIR = lib/redis/scripts
LUA_NAMES = $(filter-out common,$(notdir $(basename \
	$(wildcard $(LUA_DIR)/*.lua))))
LUA_FULL = $(LUA_NAMES:%=$(BUILD)/scripts/%.lua)

scripts: $(LUA_FULL)

$(BUILD)/scripts/%.lua: $(LUA_DIR)/common.lua $(LUA_DIR)/%.lua
	@mkdir -p $(dir $@)
	cat $^ >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/lua_scripts.c: $(LUA_DIR)/embed.sh $(LUA_FULL)
	@mkdir -p $(dir $@)
	sh $(LUA_DIR)/embed.sh $(LUA_FULL) >$@.tmp && mv $@.tmp $@

$(BUILD)/lib/redis/scripts.o: $(BUILD)/gen/lua_scripts.c
$(BUILD)/lib/redis/scripts.o: ALL_CFLAGS += -I$(BUILD)/gen

$(BUILD)/libdlock.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(DLOCK): $(CMD_OBJ) $(BUILD)/libdlock.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libdlock.a $(LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libdlock.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Ilib/include -Ilib -Ilib/redis -o $@ $< \
		$(BUILD)/libdlock.a $(LIBS)

# Says what is missing and how to get it, instead of a compiler error.
# make demo and make check (the README's two commands) also install it,
# when run as root: their prerequisites inherit these variables.
DEPS_FOR = build
demo: DEPS_FOR = demo
check: DEPS_FOR = test
demo check: DEPS_INSTALL = 1
.PHONY: deps-present
deps-present:
	@DLOCK_DEPS_INSTALL=$(DEPS_INSTALL) tests/deps.sh check $(DEPS_FOR)

deps:
	tests/deps.sh install

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

integration: $(DLOCK)
	@tests/deps.sh check test
	@DLOCK=$(abspath $(DLOCK)) tests/run.sh tests/integration/*.sh

check: all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

# Sanitizer reports go to files, so that a report from a process whose
# output a test swallowed still fails the run (tests/run.sh looks).
san_env = SANITIZER_LOG=$(1) ASAN_OPTIONS=log_path=$(1)/report \
	UBSAN_OPTIONS=log_path=$(1)/report:print_stacktrace=1 \
	TSAN_OPTIONS=log_path=$(1)/report

asan:
	rm -rf build/asan/reports && mkdir -p build/asan/reports
	$(call san_env,$(abspath build/asan/reports)) $(MAKE) BUILD=build/asan \
		SANITIZE=address,undefined OPT=-O1 check

tsan:
	rm -rf build/tsan/reports && mkdir -p build/tsan/reports
	$(call san_env,$(abspath build/tsan/reports)) $(MAKE) BUILD=build/tsan \
		SANITIZE=thread OPT=-O1 check

lint:
	tests/lint.sh

demo: $(DLOCK)
	@DLOCK=$(abspath $(DLOCK)) tests/demo.sh

bench: $(DLOCK)
	@DLOCK=$(abspath $(DLOCK)) tests/bench/run.sh

# The mutual exclusion torture test at full size; prints its figures.
TORTURE_N ?= 32
TORTURE_M ?= 100
TORTURE_OPTS ?=
torture: $(DLOCK)
	@DLOCK=$(abspath $(DLOCK)) tests/bench/torture.sh $(TORTURE_N) \
		$(TORTURE_M) $(TORTURE_OPTS)

MAN1 = $(wildcard man/*.1)
MAN7 = $(wildcard man/*.7)

install: $(DLOCK)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(DLOCK) $(DESTDIR)$(BINDIR)/dlock
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	install -m 644 completions/dlock.bash $(DESTDIR)$(BASHCOMPDIR)/dlock
	install -m 644 completions/_dlock $(DESTDIR)$(ZSHCOMPDIR)/_dlock
	install -m 644 completions/dlock.fish $(DESTDIR)$(FISHCOMPDIR)/dlock.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dlock \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7))) \
		$(DESTDIR)$(BASHCOMPDIR)/dlock $(DESTDIR)$(ZSHCOMPDIR)/_dlock \
		$(DESTDIR)$(FISHCOMPDIR)/dlock.fish

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_BIN:=.d)
