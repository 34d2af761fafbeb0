#!/usr/bin/env bash
# Shared locks (-s) and counting semaphores (--limit N): how many run at
# once, FIFO fairness between readers and writers, per-holder leases, and
# one kind of lock per name.
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A command that counts how many run at once (updates under flock(1) on a
# local file), records the peak, holds for $1 seconds, then leaves.
counting() {
	echo "flock $TMP/c.lock sh -c 'c=\$((\$(cat $TMP/cur) + 1)); echo \$c > $TMP/cur;
		[ \$c -gt \$(cat $TMP/peak) ] && echo \$c > $TMP/peak; echo \$c >> $TMP/seen'
	sleep $1
	flock $TMP/c.lock sh -c 'echo \$((\$(cat $TMP/cur) - 1)) > $TMP/cur'"
}
reset_count() { echo 0 >"$TMP/cur"; echo 0 >"$TMP/peak"; : >"$TMP/seen"; }

# 1. Six contenders with --limit 3, each holding 1 s.
reset_count
start=$(now_ms)
pids=""
for _ in 1 2 3 4 5 6; do
	"$DLOCK" run --limit 3 sem -- sh -c "$(counting 1)" &
	pids="$pids $!"
done
for p in $pids; do wait_exit 20 "$p"; done
took=$(( $(now_ms) - start ))
is "--limit 3: at most and at least 3 at once" 3 "$(cat "$TMP/peak")"
is "... all six ran" 6 "$(wc -l <"$TMP/seen")"
# The peak shows three at once; the time only shows there were two rounds
# (its upper bound catches a hang, not a slow machine).
[ "$took" -ge 1900 ] && [ "$took" -lt 15000 ] &&
	ok "... in two rounds of about 1 s (${took} ms)" ||
	not_ok "--limit 3 batch took $took ms, not two rounds of 1 s"
is "... and the permits are all back" "dlock:{sem}:fence" "$(rcli r keys 'dlock:{sem}*')"

# 2. Three -s holders overlap; a -x holder runs alone.
reset_count
pids=""
for _ in 1 2 3; do
	"$DLOCK" run -s rw -- sh -c "$(counting 1)" &
	pids="$pids $!"
done
wait_until 10 sh -c "[ \$(wc -l < $TMP/seen) -ge 3 ]"
"$DLOCK" run -x rw -- sh -c "echo \$(cat $TMP/cur) > $TMP/with_writer"
for p in $pids; do wait_exit 20 "$p"; done
is "three -s holders overlap" 3 "$(cat "$TMP/peak")"
is "a -x holder runs alone" 0 "$(cat "$TMP/with_writer")"

# 3. A writer queued behind one reader runs before the readers that came
# after it.
rm -f "$TMP/go"
: >"$TMP/order"
"$DLOCK" run -s rw -- sh -c "echo r1 >> $TMP/order; while [ ! -e $TMP/go ]; do sleep 0.01; done" &
r1=$!
wait_until 10 grep -q r1 "$TMP/order"
queued() { [ "$(rcli r llen 'dlock:{rw}:queue')" -ge "$1" ]; }
"$DLOCK" run -x rw -- sh -c "echo w >> $TMP/order; sleep 0.3" &
w=$!
wait_until 10 queued 1
"$DLOCK" run -s rw -- sh -c "echo r2 >> $TMP/order" &
r2=$!
wait_until 10 queued 2
"$DLOCK" run -s rw -- sh -c "echo r3 >> $TMP/order" &
r3=$!
wait_until 10 queued 3
is "readers that came after a queued writer wait behind it" r1 "$(cat "$TMP/order")"
touch "$TMP/go"
for p in $r1 $w $r2 $r3; do wait_exit 20 "$p"; done
is "the writer runs before the later readers" "r1 w" \
	"$(head -n 2 "$TMP/order" | tr '\n' ' ' | sed 's/ $//')"
is "... then both later readers" "r2 r3" \
	"$(tail -n 2 "$TMP/order" | sort | tr '\n' ' ' | sed 's/ $//')"

# 4. A SIGKILLed holder's permit comes back after its TTL (and no later:
# --lock-delay 0; safety.sh tests the default delay).
rm -f "$TMP/started"
"$DLOCK" run --limit 1 --ttl 1s --lock-delay 0 one -- sh -c "touch $TMP/started; sleep 30" &
pid=$!
wait_until 10 test -e "$TMP/started"
kill -9 "$pid"
wait "$pid" 2>/dev/null
start=$(now_ms)
"$DLOCK" run --limit 1 -w 10 one -- true
is "a killed holder's permit comes back" 0 $?
took=$(( $(now_ms) - start ))
[ "$took" -ge 500 ] && ok "... after its lease ran out (${took} ms)" ||
	not_ok "the permit came back before the lease ran out" "$took ms"

# 5. One kind of lock per name.
rm -f "$TMP/started"
"$DLOCK" run --limit 3 k3 -- sh -c "touch $TMP/started; sleep 30" &
holder=$!
track "$holder"
wait_until 10 test -e "$TMP/started"
"$DLOCK" run --limit 2 -n k3 -- true 2>"$TMP/err"
is "a different --limit is refused (64)" 64 $?
like "... naming the --limit in force" "$(cat "$TMP/err")" \
	"^dlock: lock 'k3' is in use as a counting semaphore with --limit 3"
"$DLOCK" run -n k3 -- true 2>"$TMP/err"
is "-x on a semaphore is refused (64)" 64 $?
"$DLOCK" run -s -n k3 -- true 2>"$TMP/err"
is "-s on a semaphore is refused (64)" 64 $?
kill "$holder"
wait_exit 10 "$holder"
rm -f "$TMP/started"
"$DLOCK" run kx -- sh -c "touch $TMP/started; sleep 30" &
holder=$!
track "$holder"
wait_until 10 test -e "$TMP/started"
"$DLOCK" run --limit 2 -n kx -- true 2>"$TMP/err"
is "--limit on a held exclusive lock is refused (64)" 64 $?
like "... saying so" "$(cat "$TMP/err")" "held as an exclusive lock"
kill "$holder"
wait_exit 10 "$holder"
"$DLOCK" run --limit 3 -s k -- true 2>"$TMP/err"
is "--limit with -s is a usage error" 64 $?
"$DLOCK" run --limit 0 k -- true 2>/dev/null
is "--limit 0 is a usage error" 64 $?

# 6. Every holder has its own DLOCK_TOKEN, rising in order of entry.
: >"$TMP/tokens"
pids=""
for _ in 1 2 3 4; do
	"$DLOCK" run --limit 2 tk -- sh -c "echo \$DLOCK_TOKEN >> $TMP/tokens; sleep 0.2" &
	pids="$pids $!"
done
for p in $pids; do wait_exit 20 "$p"; done
is "semaphore holders get distinct tokens" 4 "$(sort -u "$TMP/tokens" | wc -l)"
# Holders that enter together may log in either order; one at a time,
# the log is the order of entry.
: >"$TMP/tokens"
pids=""
for _ in 1 2 3 4; do
	"$DLOCK" run --limit 1 tk1 -- sh -c "echo \$DLOCK_TOKEN >> $TMP/tokens; sleep 0.1" &
	pids="$pids $!"
done
for p in $pids; do wait_exit 20 "$p"; done
sort -n -c "$TMP/tokens" 2>/dev/null && [ "$(wc -l <"$TMP/tokens")" -eq 4 ] &&
	ok "... rising in order of entry" ||
	not_ok "tokens out of order" "$(tr '\n' ' ' <"$TMP/tokens")"

# 7. Lease loss, one holder at a time: --max-hold on one of two shared
# holders; the other keeps its lock.
rm -f "$TMP/started"
"$DLOCK" run -s ls -- sh -c "touch $TMP/started; sleep 3" &
keeper=$!
wait_until 10 test -e "$TMP/started"
"$DLOCK" run -s --max-hold 300ms ls -- sleep 30 2>"$TMP/err"
is "a shared holder past --max-hold exits 75" 75 $?
is "... and only its own entry is gone" 1 "$(rcli r zcard 'dlock:{ls}:holders')"
wait_exit 10 "$keeper"
is "the other shared holder finished normally" 0 "$WAIT_STATUS"
"$DLOCK" run --limit 2 --max-hold 300ms lm -- sleep 30 2>/dev/null
is "a semaphore holder past --max-hold exits 75" 75 $?
is "... and its permit is back at once" 0 "$(rcli r exists 'dlock:{lm}:holders')"

# 8. Redis killed while shared and semaphore holders run: both are lost.
start_redis q
Q="unix://$TMP/q.sock"
rm -f "$TMP/s1" "$TMP/s2"
"$DLOCK" --url "$Q" run -s --ttl 1s a -- sh -c "touch $TMP/s1; sleep 30 & wait" 2>/dev/null &
sh1=$!
"$DLOCK" --url "$Q" run --limit 2 --ttl 1s b -- sh -c "touch $TMP/s2; sleep 30 & wait" 2>/dev/null &
sem1=$!
wait_until 10 test -e "$TMP/s1" -a -e "$TMP/s2"
kill -9 "$REDIS_PID_q"
wait_exit 15 "$sh1"
is "redis killed under a shared holder: 75" 75 "$WAIT_STATUS"
wait_exit 15 "$sem1"
is "redis killed under a semaphore holder: 75" 75 "$WAIT_STATUS"

# 9. Nested runs of one name across kinds.
out=$("$DLOCK" run -x nk -- "$DLOCK" run -s nk -- echo inner)
is "a nested -s inside a -x hold runs at once" inner "$out"
out=$("$DLOCK" run -s nk -- "$DLOCK" run -s nk -- echo inner)
is "a nested -s inside a -s hold runs at once" inner "$out"
out=$("$DLOCK" run --limit 2 nl -- "$DLOCK" run --limit 2 nl -- echo inner)
is "a nested run inside a semaphore permit runs at once" inner "$out"
"$DLOCK" run -s nk -- "$DLOCK" run -x -w 10 nk -- true 2>"$TMP/err"
is "a nested -x inside a -s hold is refused, not a deadlock (64)" 64 $?
like "... saying why" "$(cat "$TMP/err")" "cannot upgrade it"

# 10. A plain single-key client (redis-py's Lock) is kept out by shared
# holders too.
rm -f "$TMP/started"
"$DLOCK" run -s py -- sh -c "touch $TMP/started; sleep 1" &
pid=$!
wait_until 10 test -e "$TMP/started"
is "SET NX on the key fails while shared holders run" "" \
	"$(rcli r set 'dlock:{py}' other NX PX 1000)"
wait_exit 10 "$pid"

done_testing
