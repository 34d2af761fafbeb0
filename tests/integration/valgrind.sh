#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main paths under valgrind: no invalid access and no leak in run
# (held briefly, held across renewals, busy, a failing or missing
# command), acquire/renew/release, status and list. Also that dlock still
# runs there at all: on x86-64 its guard shares dlock's memory, a clone
# valgrind cannot follow, so under valgrind the guard is forked.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

if ! command -v valgrind >/dev/null; then
	echo "ok 1 # SKIP valgrind is not installed (apt-get install valgrind)"
	echo "1..1"
	exit 0
fi
if [ -n "${SANITIZER_LOG:-}" ]; then
	echo "ok 1 # SKIP a sanitizer build: valgrind cannot run it"
	echo "1..1"
	exit 0
fi

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"
mkdir -p "$TMP/vg"

# vg NAME ARGS...: dlock ARGS under valgrind, its output in VG_OUT;
# VG_STATUS is its exit status, and the test NAME fails when valgrind found
# anything.
vg() {
	local name=$1 log
	shift
	log="$TMP/vg/$(echo "$name" | tr -c 'a-z0-9\n' _).log"
	VG_OUT=$log.out
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--log-file="$log" "$DLOCK" "$@" >"$VG_OUT"
	VG_STATUS=$?
	if [ "$VG_STATUS" != 99 ] && [ ! -s "$log" ]; then
		ok "$name: no error or leak under valgrind"
	else
		not_ok "$name: no error or leak under valgrind" "$(head -n 30 "$log")"
	fi
}

vg "run" run k -- true
is "run: exit 0" 0 "$VG_STATUS"
vg "a run whose group dlock-guard leads" run k -- sh -c \
	"cat /proc/\$((\$(ps -o pgid= -p \$\$)))/comm > $TMP/leader"
is "under valgrind the command's group is led by the guard" dlock-guard \
	"$(cat "$TMP/leader")"
vg "a run across renewals" run --ttl 1s k -- sleep 1.5
is "a run across renewals: exit 0" 0 "$VG_STATUS"
vg "a failing command" run k -- sh -c 'exit 3'
is "a failing command: its status" 3 "$VG_STATUS"
vg "a missing command" run k -- "$TMP/no-such-command" 2>/dev/null
is "a missing command: exit 127" 127 "$VG_STATUS"

"$DLOCK" run k -- sh -c "touch $TMP/held; while [ ! -e $TMP/stop ]; do sleep 0.02; done" &
holder=$!
track "$holder"
wait_until 10 test -e "$TMP/held"
vg "run -n on a busy lock" run -n k -- true 2>/dev/null
is "run -n on a busy lock: exit 1" 1 "$VG_STATUS"
vg "status" status k
is "status of a held lock: exit 0" 0 "$VG_STATUS"
vg "list" list
is "list: exit 0" 0 "$VG_STATUS"
touch "$TMP/stop"
wait_exit 20 "$holder"

vg "acquire" acquire --ttl 1m a
is "acquire: exit 0" 0 "$VG_STATUS"
OWNER=$(cat "$VG_OUT")
vg "renew" renew a --owner "$OWNER"
is "renew: exit 0" 0 "$VG_STATUS"
vg "release" release a --owner "$OWNER"
is "release: exit 0" 0 "$VG_STATUS"

done_testing
