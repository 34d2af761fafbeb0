#!/bin/sh
# Checks for, or installs, the Debian packages dlock needs.
#   deps.sh check build    what compiling needs
#   deps.sh check demo     what make demo needs (build, and a redis-server)
#   deps.sh check test     what the tests need as well
#   deps.sh install        installs all of them (as root, with apt-get)
# With DLOCK_DEPS_INSTALL=1 (make demo and make check set it), a check run
# as root installs what is missing with apt-get, saying so; otherwise it
# prints the apt-get line to run and fails.
#
# For tests only: DLOCK_DEPS_SYSROOT is put in front of the header paths
# looked for, so that tests/integration/install.sh can show a machine
# without the -dev packages (and a fake apt-get on PATH) without
# uninstalling the real ones. Commands are found on PATH, which a test can
# point at a directory of its own.
set -u

BUILD_PKGS="gcc make pkg-config libhiredis-dev libssl-dev"
TEST_PKGS="redis-server redis-tools redis-sentinel procps python3 man-db openssl etcd-server etcd-client valgrind"
root=${DLOCK_DEPS_SYSROOT:-}

missing_build() {
	command -v "${CC:-cc}" >/dev/null 2>&1 || echo gcc
	command -v make >/dev/null 2>&1 || echo make
	command -v pkg-config >/dev/null 2>&1 || echo pkg-config
	[ -f "$root/usr/include/hiredis/hiredis.h" ] || echo libhiredis-dev
	[ -f "$root/usr/include/openssl/ssl.h" ] || echo libssl-dev
}

missing_demo() {
	command -v redis-server >/dev/null 2>&1 || echo redis-server
	command -v redis-cli >/dev/null 2>&1 || echo redis-tools
}

missing_test() {
	missing_demo
	command -v redis-sentinel >/dev/null 2>&1 || echo redis-sentinel
	command -v pkill >/dev/null 2>&1 || echo procps
	command -v python3 >/dev/null 2>&1 || echo python3
	command -v man >/dev/null 2>&1 || echo man-db
	command -v openssl >/dev/null 2>&1 || echo openssl
	command -v etcd >/dev/null 2>&1 || echo etcd-server
	command -v etcdctl >/dev/null 2>&1 || echo etcd-client
	command -v valgrind >/dev/null 2>&1 || echo valgrind
}

# missing WHAT: the missing packages for WHAT, on one line.
missing() {
	case $1 in
	build) missing_build ;;
	demo) missing_build; missing_demo ;;
	test) missing_build; missing_test ;;
	esac | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# apt_install PACKAGE...: as root, non-interactive; dpkg's progress is
# not shown, its errors are.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}

case "${1:-} ${2:-}" in
"check build" | "check demo" | "check test")
	what=$2
	;;
"install ")
	if [ "$(id -u)" != 0 ]; then
		echo "dlock: 'make deps' installs packages: run it as root, or run" >&2
		echo "  sudo apt-get install $BUILD_PKGS $TEST_PKGS" >&2
		exit 1
	fi
	# shellcheck disable=SC2086 # the lists are words on purpose
	apt_install $BUILD_PKGS $TEST_PKGS
	exit
	;;
*)
	echo "usage: $0 check build|demo|test, or $0 install" >&2
	exit 2
	;;
esac

list=$(missing "$what")
[ -z "$list" ] && exit 0
if [ "${DLOCK_DEPS_INSTALL:-}" = 1 ] && [ "$(id -u)" = 0 ] &&
	command -v apt-get >/dev/null 2>&1; then
	echo "dlock: installing missing packages: $list"
	# shellcheck disable=SC2086
	if ! apt_install $list; then
		echo "dlock: apt-get could not install: $list" >&2
		exit 1
	fi
	list=$(missing "$what")
	[ -z "$list" ] && exit 0
	echo "dlock: still missing after apt-get: $list" >&2
	exit 1
fi
echo "dlock: missing packages: $list" >&2
if [ "$(id -u)" = 0 ]; then
	echo "dlock: install them with: apt-get install $list" >&2
else
	echo "dlock: install them with: sudo apt-get install $list" >&2
fi
exit 1
