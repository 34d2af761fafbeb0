#!/usr/bin/env bash
# Two runs on one name: -n, -E, -w timing out and -w succeeding.
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

# hold NAME SECONDS: a background holder whose command has started when
# this returns; its pid is in HOLDER.
hold() {
	rm -f "$TMP/started"
	"$DLOCK" run "$1" -- sh -c "touch $TMP/started; sleep $2" &
	HOLDER=$!
	track "$HOLDER"
	wait_until 10 test -e "$TMP/started" || not_ok "holder did not start"
}

hold k 30
"$DLOCK" run -n k -- touch "$TMP/ran" 2>"$TMP/err"
is "-n exits 1 when the lock is held" 1 $?
[ -e "$TMP/ran" ] && not_ok "-n ran the command" || ok "-n did not run the command"
like "-n says who holds the lock" "$(cat "$TMP/err")" \
	"^dlock: lock 'k' is held by .*pid $HOLDER.*sleep 30"

"$DLOCK" run --nonblock -E 42 k -- true 2>/dev/null
is "-E sets the conflict status" 42 $?
"$DLOCK" run -n -E 0 k -- true 2>/dev/null
is "-E 0 is allowed" 0 $?
"$DLOCK" run -n -q k -- true 2>"$TMP/err"
is "-q: still the conflict status" 1 $?
is "-q: no message" "" "$(cat "$TMP/err")"
"$DLOCK" run -w 0.3 -q k -- true 2>"$TMP/err"
is "-q -w: no waiting line and no message" "1 " "$? $(cat "$TMP/err")"
"$DLOCK" run -w 0 k -- true 2>/dev/null
is "-w 0 behaves like -n" 1 $?

start=$(date +%s%N)
"$DLOCK" run -w 0.5 k -- touch "$TMP/ran" 2>"$TMP/err"
status=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
is "-w timing out exits 1" 1 "$status"
[ "$elapsed" -ge 450 ] && ok "-w waited its time (${elapsed} ms)" ||
	not_ok "-w returned early" "${elapsed} ms"
[ "$elapsed" -lt 10000 ] && ok "-w did not hang" || not_ok "-w hung" "$elapsed ms"
like "-w timeout message" "$(cat "$TMP/err")" "gave up waiting for lock 'k'"
"$DLOCK" run --timeout 0.3 -E 9 k -- true 2>/dev/null
is "-w timing out uses -E" 9 $?
[ -e "$TMP/ran" ] && not_ok "-w ran the command after timing out" ||
	ok "-w did not run the command after timing out"
is "the waiter left no keys" \
	"$(printf '%s\n' 'dlock:{k}' 'dlock:{k}:fence' "dlock:{k}:holder:$(rcli r get 'dlock:{k}')" | sort)" \
	"$(rcli r keys '*' | sort)"
kill "$HOLDER"
wait_exit 10 "$HOLDER"

# -w succeeds once the holder ends: the waiter is woken by the release.
hold k 1
"$DLOCK" run -w 20 k -- touch "$TMP/ran"
is "-w succeeds when the holder ends" 0 $?
[ -e "$TMP/ran" ] && ok "the waiter ran its command" || not_ok "the waiter did not run"
wait_exit 10 "$HOLDER"

# Without -n or -w the wait is unbounded, and ends with the holder.
hold k 1
"$DLOCK" run k -- sh -c "exit 5"
is "a plain wait runs the command when the holder ends" 5 $?
wait_exit 10 "$HOLDER"

# A holder that dies without releasing: the waiter gets in after the TTL.
rm -f "$TMP/started"
"$DLOCK" run --ttl 1s k -- sh -c "echo \$\$ > $TMP/started; sleep 30" &
HOLDER=$!
track "$HOLDER"
wait_until 10 test -s "$TMP/started"
kill -STOP "$HOLDER"
start=$(date +%s%N)
"$DLOCK" run -w 20 k -- true
is "a waiter gets a lock abandoned by a stopped holder" 0 $?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -ge 500 ] && ok "... only after the lease ran out (${elapsed} ms)" ||
	not_ok "the waiter got the lock too early" "$elapsed ms"
kill -9 -- "-$(cat "$TMP/started")" "$HOLDER"

# Taking turns: three contenders, overlapping never.
pids=""
for i in 1 2 3; do
	"$DLOCK" run k -- sh -c "mkdir $TMP/in || echo overlap; sleep 0.2; rmdir $TMP/in; echo $i" >>"$TMP/turns" &
	pids="$pids $!"
	track $!
done
for p in $pids; do
	wait_exit 20 "$p"
done
is "contenders take turns without overlapping" "1 2 3" \
	"$(sort "$TMP/turns" | tr '\n' ' ' | sed 's/ $//')"

done_testing
