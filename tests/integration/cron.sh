#!/usr/bin/env bash
# A wait without a terminal (cron, CI) is told in the job's log: one line
# when it begins, then one a minute. Slow by nature (a minute), so it is
# a file of its own that runs beside the others.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

rm -f "$TMP/started" "$TMP/stop"
"$DLOCK" run k -- sh -c \
	"touch $TMP/started; while [ ! -e $TMP/stop ]; do sleep 0.1; done" &
holder=$!
track "$holder"
wait_until 10 test -e "$TMP/started"
"$DLOCK" run -w 5m k -- true 2>"$TMP/err" &
waiter=$!
track "$waiter"
wait_until 10 test -s "$TMP/err"
like "the wait's first line names the holder" "$(cat "$TMP/err")" \
	"^dlock: waiting for lock 'k', held by .*, pid $holder, .*; place 1 in the queue$"
wait_until 90 sh -c "[ \$(grep -c . $TMP/err) -ge 2 ]"
like "a minute on, a second line says it still waits" \
	"$(sed -n 2p "$TMP/err")" \
	"^dlock: still waiting for lock 'k' after 6[0-9]s, held by .*, pid $holder"
touch "$TMP/stop"
wait_exit 20 "$waiter"
is "the waiter runs once the holder is done" 0 "$WAIT_STATUS"
is "... and its log has just those two lines" 2 "$(grep -c . "$TMP/err")"
wait_exit 20 "$holder"

done_testing
