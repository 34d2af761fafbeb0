#!/usr/bin/env bash
# make install and uninstall honour PREFIX and DESTDIR, and put the manual
# pages and the completions where man and the shells look for them; the
# set-up commands install missing packages as root, and say what to run
# otherwise (tests/deps.sh, on a fake machine: a PATH and a sysroot of this
# test's own, and a fake apt-get, so that no real package is touched).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

src=$(cd "$(dirname "$0")/../.." && pwd)
pages=$(cd "$src/man" && ls ./*.[1-9] | sed 's|^\./||')

# The pkg-config files of Debian 12's bash-completion and fish packages, as
# they are (bash-completion's datadir does not follow prefix), seen by the
# real pkg-config through a wrapper; and a set that names directories of
# its own, to show that the Makefile asks pkg-config.
mkdir -p "$TMP/pc/debian" "$TMP/pc/elsewhere"
cat >"$TMP/pc/debian/bash-completion.pc" <<'EOF'
prefix=/usr
datadir=/usr/share
sysconfdir=/etc

compatdir=${sysconfdir}/bash_completion.d
completionsdir=${datadir}/bash-completion/completions
helpersdir=${datadir}/bash-completion/helpers

Name: bash-completion
Description: programmable completion for the bash shell
URL: https://github.com/scop/bash-completion
Version: 2.11
EOF
cat >"$TMP/pc/debian/fish.pc" <<'EOF'
prefix=/usr
datadir=${prefix}/share
completionsdir=${datadir}/fish/vendor_completions.d
functionsdir=${datadir}/fish/vendor_functions.d
confdir=${datadir}/fish/vendor_conf.d

Name: fish
Description: fish, the friendly interactive shell
URL: https://fishshell.com/
Version: 3.6.0
EOF
sed 's|/bash-completion/completions$|/bash-elsewhere|' \
	"$TMP/pc/debian/bash-completion.pc" >"$TMP/pc/elsewhere/bash-completion.pc"
sed 's|/fish/vendor_completions.d$|/fish-elsewhere|' \
	"$TMP/pc/debian/fish.pc" >"$TMP/pc/elsewhere/fish.pc"
for set in debian elsewhere; do
	# shellcheck disable=SC2016 # $@ is the wrapper's
	printf '#!/bin/sh\nPKG_CONFIG_PATH=%s exec pkg-config "$@"\n' \
		"$TMP/pc/$set" >"$TMP/pc/$set-pkg-config"
	chmod +x "$TMP/pc/$set-pkg-config"
done
printf '#!/bin/sh\nexit 1\n' >"$TMP/pc/no-pkg-config"
chmod +x "$TMP/pc/no-pkg-config"

# check_install NAME PREFIX PKG_CONFIG FILE...: make install puts FILE...
# (and nothing else) under DESTDIR, and make uninstall removes them all.
check_install() {
	local name=$1 prefix=$2 pc=$3 dest="$TMP/$1" f want got
	shift 3
	make -s -C "$src" install DESTDIR="$dest" PREFIX="$prefix" \
		PKG_CONFIG="$pc" DLOCK="$DLOCK" >"$TMP/log" 2>&1
	is "$name: make install succeeds" 0 $?
	for f in "$@"; do
		if [ -f "$dest/$f" ]; then
			ok "$name: installs /$f"
		else
			not_ok "$name: installs /$f" "$(cat "$TMP/log")" \
				"installed: $(cd "$dest" && find . -type f)"
		fi
	done
	want=$(printf '%s\n' "$@" | sort)
	got=$(cd "$dest" && find . -type f | sed 's|^\./||' | sort)
	is "$name: installs nothing else" "$want" "$got"
	make -s -C "$src" uninstall DESTDIR="$dest" PREFIX="$prefix" \
		PKG_CONFIG="$pc" >/dev/null 2>&1
	is "$name: make uninstall removes every file" "" "$(find "$dest" -type f)"
}

man_files() {
	local p
	for p in $pages; do
		echo "$1/share/man/man${p##*.}/$p"
	done
}

# Debian's layout with PREFIX=/usr, with pkg-config as on a machine with
# bash-completion and fish.
# shellcheck disable=SC2046 # one file a word
check_install "PREFIX=/usr" /usr "$TMP/pc/debian-pkg-config" usr/bin/dlock \
	$(man_files usr) \
	usr/share/bash-completion/completions/dlock \
	usr/share/zsh/vendor-completions/_dlock \
	usr/share/fish/vendor_completions.d/dlock.fish
# The default PREFIX, where pkg-config's directories move with it.
# shellcheck disable=SC2046
check_install "PREFIX=/usr/local" /usr/local "$TMP/pc/debian-pkg-config" \
	usr/local/bin/dlock $(man_files usr/local) \
	usr/local/share/bash-completion/completions/dlock \
	usr/local/share/zsh/site-functions/_dlock \
	usr/local/share/fish/vendor_completions.d/dlock.fish
# The directories come from pkg-config, not from a list of our own.
# shellcheck disable=SC2046
check_install "pkg-config-elsewhere" /usr "$TMP/pc/elsewhere-pkg-config" usr/bin/dlock \
	$(man_files usr) \
	usr/share/bash-elsewhere/dlock \
	usr/share/zsh/vendor-completions/_dlock \
	usr/share/fish-elsewhere/dlock.fish
# Without the packages' pkg-config files: the usual paths.
# shellcheck disable=SC2046
check_install "without-pkg-config" /usr "$TMP/pc/no-pkg-config" usr/bin/dlock \
	$(man_files usr) \
	usr/share/bash-completion/completions/dlock \
	usr/share/zsh/vendor-completions/_dlock \
	usr/share/fish/vendor_completions.d/dlock.fish

like "the manual pages include section 7" "$pages" '\.7'

dest="$TMP/run"
make -s -C "$src" install DESTDIR="$dest" PREFIX=/usr DLOCK="$DLOCK" >/dev/null 2>&1
[ -x "$dest/usr/bin/dlock" ] && ok "the binary is executable" || not_ok "binary not executable"
is "the installed binary runs" "$("$DLOCK" --version)" "$("$dest/usr/bin/dlock" --version)"
if command -v man >/dev/null 2>&1; then
	for p in $pages; do
		n=${p%.*} s=${p##*.}
		out=$(MANPATH="$dest/usr/share/man" MANWIDTH=80 man "$s" "$n" 2>&1 | head -n 1)
		like "man $s $n finds the installed page" "$out" "^${n^^}\\($s\\)"
	done
fi

# --- tests/deps.sh, on a fake machine --------------------------------------

# A PATH with the tools deps.sh itself uses, and an id that says $FAKE_UID;
# a sysroot without headers; an apt-get that logs what it is asked and, for
# "install", provides the packages it names (FAKE_APT_FAIL: it fails).
fake=$TMP/fake
mkdir -p "$fake/bin" "$fake/root"
for t in sh sort tr sed cat; do
	ln -s "$(command -v "$t")" "$fake/bin/$t"
done
cat >"$fake/bin/id" <<'EOF'
#!/bin/sh
echo "${FAKE_UID:-1000}"
EOF
cat >"$fake/apt-get" <<'EOF'
#!/bin/sh
PATH=/usr/bin:/bin
echo "apt-get $*" >>"$FAKE_LOG"
[ -z "${FAKE_APT_FAIL:-}" ] || exit 100
[ "$1" = update ] && exit 0
for p in "$@"; do
	case $p in
	gcc) ln -sf /bin/true "$FAKE_BIN/cc" ;;
	make) ln -sf /bin/true "$FAKE_BIN/make" ;;
	pkg-config) ln -sf /bin/true "$FAKE_BIN/pkg-config" ;;
	libhiredis-dev) mkdir -p "$FAKE_ROOT/usr/include/hiredis" &&
		touch "$FAKE_ROOT/usr/include/hiredis/hiredis.h" ;;
	libssl-dev) mkdir -p "$FAKE_ROOT/usr/include/openssl" &&
		touch "$FAKE_ROOT/usr/include/openssl/ssl.h" ;;
	redis-server) ln -sf /bin/true "$FAKE_BIN/redis-server" ;;
	redis-tools) ln -sf /bin/true "$FAKE_BIN/redis-cli" ;;
	esac
done
EOF
chmod +x "$fake/bin/id" "$fake/apt-get"
export FAKE_LOG=$fake/apt.log FAKE_BIN=$fake/bin FAKE_ROOT=$fake/root

# fresh: a machine with none of the packages (and apt-get, with $1).
fresh() {
	rm -rf "$fake/root" "$FAKE_LOG"
	mkdir -p "$fake/root"
	rm -f "$fake/bin/cc" "$fake/bin/make" "$fake/bin/pkg-config" \
		"$fake/bin/redis-server" "$fake/bin/redis-cli" "$fake/bin/apt-get"
	[ "${1:-}" = apt ] && ln -s "$fake/apt-get" "$fake/bin/apt-get"
	:
}

# deps VAR=VALUE... -- ARG...: tests/deps.sh on the fake machine.
deps() {
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env -i PATH="$fake/bin" DLOCK_DEPS_SYSROOT="$fake/root" \
		FAKE_LOG="$FAKE_LOG" FAKE_BIN="$FAKE_BIN" FAKE_ROOT="$FAKE_ROOT" \
		"${envs[@]}" "$fake/bin/sh" "$src/tests/deps.sh" "$@" \
		>"$TMP/deps.out" 2>"$TMP/deps.err"
}

build_list="gcc libhiredis-dev libssl-dev make pkg-config"
demo_list="gcc libhiredis-dev libssl-dev make pkg-config redis-server redis-tools"

fresh apt
deps FAKE_UID=1000 DLOCK_DEPS_INSTALL=1 -- check build
is "deps.sh, not root: a missing package fails the check" 1 $?
is "deps.sh, not root: names what is missing" \
	"dlock: missing packages: $build_list
dlock: install them with: sudo apt-get install $build_list" "$(cat "$TMP/deps.err")"
is "deps.sh, not root: installs nothing" "" "$(cat "$FAKE_LOG" 2>/dev/null)"

fresh apt
deps FAKE_UID=0 -- check build
is "deps.sh, root, plain make: a missing package fails the check" 1 $?
is "deps.sh, root, plain make: says what to run, installs nothing" \
	"dlock: missing packages: $build_list
dlock: install them with: apt-get install $build_list" "$(cat "$TMP/deps.err"; cat "$FAKE_LOG" 2>/dev/null)"

fresh apt
deps FAKE_UID=0 DLOCK_DEPS_INSTALL=1 -- check demo
is "deps.sh, root, make demo: installs and passes" 0 $?
is "deps.sh, root, make demo: says what it installs" \
	"dlock: installing missing packages: $demo_list" "$(cat "$TMP/deps.out")"
is "deps.sh, root, make demo: runs apt-get update and install" \
	"apt-get update -qq
apt-get install -y -qq $demo_list" "$(cat "$FAKE_LOG")"
deps FAKE_UID=0 DLOCK_DEPS_INSTALL=1 -- check demo
is "deps.sh: nothing missing, nothing said" "0::" \
	"$?:$(cat "$TMP/deps.out"):$(cat "$TMP/deps.err")"

fresh apt
deps FAKE_UID=0 DLOCK_DEPS_INSTALL=1 FAKE_APT_FAIL=1 -- check build
is "deps.sh, root: a failing apt-get fails the check" 1 $?
like "deps.sh, root: ... and says so" "$(cat "$TMP/deps.err")" \
	'^dlock: apt-get could not install: gcc '

fresh
deps FAKE_UID=0 DLOCK_DEPS_INSTALL=1 -- check build
is "deps.sh, root without apt-get: fails" 1 $?
like "deps.sh, root without apt-get: says what to install" \
	"$(cat "$TMP/deps.err")" "^dlock: install them with: apt-get install $build_list\$"

# The Makefile asks for the installation from make demo and make check
# only, with what each needs.
for t in demo check all; do
	line=$(make -n -C "$src" "$t" 2>/dev/null | grep 'deps.sh check' | head -n 1)
	case $t in
	demo) want='DLOCK_DEPS_INSTALL=1 tests/deps.sh check demo' ;;
	check) want='DLOCK_DEPS_INSTALL=1 tests/deps.sh check test' ;;
	all) want='DLOCK_DEPS_INSTALL= tests/deps.sh check build' ;;
	esac
	is "make $t checks the packages with: $want" "$want" "$line"
done

done_testing
