#!/bin/sh
# Checks for, or installs, the Debian packages dlock needs.
#   deps.sh check build    what compiling needs
#   deps.sh check test     what the tests need as well
#   deps.sh install        installs all of them (as root, with apt-get)
set -u

BUILD_PKGS="gcc make pkg-config libhiredis-dev libssl-dev"
TEST_PKGS="redis-server redis-tools procps python3 man-db openssl"

missing_build() {
	command -v ${CC:-cc} >/dev/null 2>&1 || echo gcc
	command -v pkg-config >/dev/null 2>&1 || echo pkg-config
	[ -f /usr/include/hiredis/hiredis.h ] || echo libhiredis-dev
	[ -f /usr/include/openssl/ssl.h ] || echo libssl-dev
}

missing_test() {
	command -v redis-server >/dev/null 2>&1 || echo redis-server
	command -v redis-cli >/dev/null 2>&1 || echo redis-tools
	command -v pkill >/dev/null 2>&1 || echo procps
	command -v python3 >/dev/null 2>&1 || echo python3
	command -v man >/dev/null 2>&1 || echo man-db
	command -v openssl >/dev/null 2>&1 || echo openssl
}

case "${1:-} ${2:-}" in
"check build")
	missing=$(missing_build | sort -u | tr '\n' ' ')
	;;
"check test")
	missing=$( (missing_build; missing_test) | sort -u | tr '\n' ' ')
	;;
"install ")
	if [ "$(id -u)" != 0 ]; then
		echo "dlock: 'make deps' installs packages: run it as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq $BUILD_PKGS $TEST_PKGS
	exit
	;;
*)
	echo "usage: $0 check build|test, or $0 install" >&2
	exit 2
	;;
esac
if [ -n "$missing" ]; then
	echo "dlock: missing packages: $missing" >&2
	echo "dlock: install them with 'make deps' (as root), or" \
		"'apt-get install $missing'" >&2
	exit 1
fi
