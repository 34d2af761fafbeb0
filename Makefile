# dlock: plain GNU make. User CFLAGS/LDFLAGS are added to ours.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build
SANITIZE ?=

HIREDIS_CFLAGS := $(shell $(PKG_CONFIG) --cflags hiredis 2>/dev/null)
HIREDIS_LIBS := $(shell $(PKG_CONFIG) --libs hiredis 2>/dev/null || echo -lhiredis)

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
LIBS = $(HIREDIS_LIBS) -lpthread

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
.PHONY: deps-present
deps-present:
	@tests/deps.sh check build

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

install: $(DLOCK)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(DLOCK) $(DESTDIR)$(BINDIR)/dlock
	install -m 644 man/dlock.1 $(DESTDIR)$(MANDIR)/man1/dlock.1
	install -m 644 completions/dlock.bash $(DESTDIR)$(BASHCOMPDIR)/dlock
	install -m 644 completions/_dlock $(DESTDIR)$(ZSHCOMPDIR)/_dlock
	install -m 644 completions/dlock.fish $(DESTDIR)$(FISHCOMPDIR)/dlock.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dlock $(DESTDIR)$(MANDIR)/man1/dlock.1 \
		$(DESTDIR)$(BASHCOMPDIR)/dlock $(DESTDIR)$(ZSHCOMPDIR)/_dlock \
		$(DESTDIR)$(FISHCOMPDIR)/dlock.fish

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)
