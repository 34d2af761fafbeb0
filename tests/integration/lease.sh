#!/usr/bin/env bash
# A lost lease is acted on before anyone else can hold the lock: the
# command's whole process group is signalled, then killed, and dlock exits
# with the lost status. --max-hold, --lock-delay, --on-lost, --kill-after
# and --lost-exit-code.
. "$(dirname "$0")/../lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# A bash command that records when it got SIGTERM (no fork, so no delay),
# then exits 3.
trap_cmd() {
	echo "trap 't=\${EPOCHREALTIME/./}; echo \$((t / 1000)) > $TMP/term; exit 3' TERM
	      echo \$\$ > $TMP/started; $1"
}

# hh:mm:ss.mmm today, in local time, to epoch milliseconds.
clock_ms() {
	local day
	day=$(date +%Y-%m-%d)
	echo $(( $(date -d "$day $1" +%s%N) / 1000000 ))
}

start_redis r --appendonly no
export DLOCK_URL="unix://$TMP/r.sock"

# 1. kill -9 of redis-server while the lock is held.
rm -f "$TMP/started" "$TMP/term"
"$DLOCK" run --ttl 2s k -- bash -c "$(trap_cmd 'sleep 30 & wait')" 2>"$TMP/err" &
pid=$!
wait_until 10 test -s "$TMP/started"
sleep 1	# let a renewal or two succeed first
killed_at=$(now_ms)
kill -9 "$REDIS_PID_r"
wait_exit 15 "$pid"
is "redis killed: dlock exits 75" 75 "$WAIT_STATUS"
[ -s "$TMP/term" ] && ok "redis killed: the command got SIGTERM" ||
	not_ok "redis killed: no SIGTERM"
last=$(sed -n 's/.*last successful renewal was at \([0-9:.]*\).*/\1/p' "$TMP/err")
like "the message says when the last renewal succeeded and why" \
	"$(cat "$TMP/err")" "^dlock: lost lock 'k': no renewal succeeded in time.*last successful renewal was at"
if [ -n "$last" ] && [ -s "$TMP/term" ]; then
	term=$(cat "$TMP/term")
	deadline=$(( $(clock_ms "$last") + 2000 ))
	if [ "$term" -lt "$deadline" ]; then
		ok "SIGTERM came $((deadline - term)) ms before the TTL since the last renewal ran out (kill to signal: $((term - killed_at)) ms, TTL 2000 ms)"
	else
		not_ok "SIGTERM came after the TTL" "term $term, deadline $deadline"
	fi
else
	not_ok "could not read the times" "$(cat "$TMP/err")"
fi
start_redis r --appendonly no

# 2. dlock stopped for 3 x TTL: a contender gets in with a higher token,
# and the first command is stopped as soon as dlock runs again. A paused
# holder is a loss dlock cannot see, which the default lock-delay does not
# claim to cover (safety.sh tests it): --lock-delay 0 shows the lease alone.
rm -f "$TMP/started" "$TMP/term"
"$DLOCK" run --ttl 1s --lock-delay 0 k -- bash -c "$(trap_cmd 'echo $DLOCK_TOKEN > '"$TMP"'/tok1; sleep 30 & wait')" 2>"$TMP/err" &
pid=$!
wait_until 10 test -s "$TMP/started"
kill -STOP "$pid"
"$DLOCK" run -w 10 k -- sh -c "echo \$DLOCK_TOKEN > $TMP/tok2"
is "a contender gets the lock while the holder is stopped" 0 $?
sleep 1.5	# the rest of 3 x TTL
[ -e "$TMP/term" ] && not_ok "the command was signalled while dlock was stopped" ||
	ok "nothing happens while dlock is stopped"
cont_at=$(now_ms)
kill -CONT "$pid"
wait_exit 15 "$pid"
is "after SIGCONT dlock exits 75" 75 "$WAIT_STATUS"
if [ -s "$TMP/term" ] && [ $(( $(cat "$TMP/term") - cont_at )) -lt 2000 ]; then
	ok "the first command is stopped at once ($(( $(cat "$TMP/term") - cont_at )) ms after SIGCONT)"
else
	not_ok "the first command was not stopped promptly" "$(cat "$TMP/err")"
fi
[ "$(cat "$TMP/tok2")" -gt "$(cat "$TMP/tok1")" ] &&
	ok "the contender's DLOCK_TOKEN is higher" ||
	not_ok "tokens did not increase" "$(cat "$TMP/tok1") then $(cat "$TMP/tok2")"
is "the stopped holder did not release the contender's lock" 0 \
	"$(rcli r exists 'dlock:{k}')"

# 3. A grandchild started in the background is stopped too, and dlock's
# own process group is not touched.
rm -f "$TMP/started" "$TMP/gc"
sleep 300 &
bystander=$!
track "$bystander"
"$DLOCK" run --ttl 1s --max-hold 500ms k -- sh -c "sleep 60 & echo \$! > $TMP/gc; echo x > $TMP/started; wait" 2>/dev/null &
pid=$!
wait_until 10 test -s "$TMP/gc"
gc=$(cat "$TMP/gc")
wait_exit 15 "$pid"
is "--max-hold: exit 75" 75 "$WAIT_STATUS"
wait_until 5 sh -c "! kill -0 $gc 2>/dev/null" &&
	ok "the background grandchild was stopped" ||
	not_ok "the grandchild $gc is still running"
kill -0 "$bystander" && ok "a process outside the command's tree is untouched" ||
	not_ok "a bystander was killed"
is "--max-hold: the lock is released after the command is stopped" 0 \
	"$(rcli r exists 'dlock:{k}')"

# 4. --on-lost, --kill-after, --lost-exit-code.
rm -f "$TMP/started" "$TMP/term"
"$DLOCK" run --max-hold 300ms --on-lost KILL --lost-exit-code 99 k -- \
	bash -c "$(trap_cmd 'sleep 30 & wait')" 2>"$TMP/err" &
pid=$!
wait_exit 15 "$pid"
is "--lost-exit-code sets the status" 99 "$WAIT_STATUS"
[ -e "$TMP/term" ] && not_ok "--on-lost KILL sent TERM" ||
	ok "--on-lost KILL: no TERM reached the command"
like "--on-lost KILL is named in the message" "$(cat "$TMP/err")" "SIGKILL now"
like "--max-hold running out says so" "$(cat "$TMP/err")" \
	"^dlock: lock 'k' ran past --max-hold 0.3s; stopping the command"
unlike "... and is not called a lost lock" "$(cat "$TMP/err")" "lost lock|last successful renewal"

rm -f "$TMP/started"
start=$(now_ms)
# --max-hold leaves the shell time to set its trap first, however busy
# the machine: a TERM before it would test nothing.
"$DLOCK" run --max-hold 2s --kill-after 1s k -- \
	sh -c "trap '' TERM; echo \$\$ > $TMP/started; sleep 30" 2>/dev/null &
pid=$!
wait_until 10 test -s "$TMP/started"
child=$(cat "$TMP/started")
wait_exit 20 "$pid"
elapsed=$(( $(now_ms) - start ))
is "a command that ignores SIGTERM: exit 75" 75 "$WAIT_STATUS"
kill -0 "$child" 2>/dev/null && not_ok "the command survived SIGKILL" ||
	ok "a command that ignores SIGTERM is killed after --kill-after (${elapsed} ms)"
[ "$elapsed" -ge 2900 ] && ok "... not before --kill-after" ||
	not_ok "SIGKILL came too early" "$elapsed ms"

# A grandchild that ignores SIGTERM and outlives the command still gets
# SIGKILL at --kill-after, before the lock is let go.
rm -f "$TMP/gc"
start=$(now_ms)
"$DLOCK" run --max-hold 2s --kill-after 1s k -- sh -c \
	"sh -c 'trap \"\" TERM; echo \$\$ > $TMP/gc; sleep 30' & wait" 2>/dev/null
status=$?
elapsed=$(( $(now_ms) - start ))
is "a grandchild outliving the command: exit 75" 75 "$status"
gc=$(cat "$TMP/gc" 2>/dev/null)
gc_state=$(sed 's/.*) \(.\).*/\1/' "/proc/${gc:-none}/stat" 2>/dev/null)
case "${gc:-none}:$gc_state" in
none:*) not_ok "the grandchild never started (no pid in $TMP/gc)" ;;
*:|*:Z) ok "... it was killed before dlock exited (${elapsed} ms)" ;;
*) not_ok "the grandchild outlived dlock" "state $gc_state" ;;
esac
[ "$elapsed" -ge 2900 ] && ok "... after its --kill-after grace" ||
	not_ok "the grandchild got no grace" "$elapsed ms"

"$DLOCK" run --on-lost NOPE k -- true 2>"$TMP/err"
is "a bad --on-lost is a usage error" 64 $?
like "... naming the value" "$(cat "$TMP/err")" "--on-lost: invalid signal 'NOPE'"
"$DLOCK" run --on-lost sigint --max-hold 200ms k -- sh -c 'trap "exit 4" INT; sleep 10 & wait' 2>/dev/null
is "--on-lost takes lower-case names with SIG" 75 $?

# 5. --lock-delay: an abandoned lock stays blocked TTL + D; a clean
# release frees it at once.
rm -f "$TMP/started"
"$DLOCK" run --ttl 1s --lock-delay 1s k -- sh -c "echo x > $TMP/started; sleep 30" &
pid=$!
wait_until 10 test -s "$TMP/started"
kill -9 "$pid"
wait "$pid" 2>/dev/null
abandoned=$(now_ms)
"$DLOCK" run -w 10 k -- true
got=$(( $(now_ms) - abandoned ))
[ "$got" -ge 1200 ] && ok "--lock-delay: an abandoned lock is blocked for TTL + D (${got} ms)" ||
	not_ok "--lock-delay: an abandoned lock came free too soon" "$got ms"
pttl=$("$DLOCK" run --ttl 1s --lock-delay 5s k2 -- redis-cli -s "$TMP/r.sock" pttl 'dlock:{k2}')
[ "$pttl" -gt 5000 ] && ok "--lock-delay: the key's expiry is TTL + D ($pttl ms)" ||
	not_ok "the key's expiry is not TTL + D" "$pttl"
# The holder ends when told to, once the waiter is queued behind it.
rm -f "$TMP/started" "$TMP/stop"
"$DLOCK" run --ttl 1s --lock-delay 5s k -- sh -c \
	"touch $TMP/started; while [ ! -e $TMP/stop ]; do sleep 0.02; done" &
pid=$!
wait_until 10 test -e "$TMP/started"
"$DLOCK" run -w 10 k -- true 2>/dev/null &
waiter=$!
wait_until 10 sh -c "[ \"\$(redis-cli -s $TMP/r.sock llen 'dlock:{k}:queue')\" = 1 ]"
start=$(now_ms)
touch "$TMP/stop"
wait_exit 20 "$waiter"
got=$(( $(now_ms) - start ))
is "--lock-delay: the waiter behind a clean release runs" 0 "$WAIT_STATUS"
[ "$got" -lt 4000 ] && ok "--lock-delay: a clean release frees the lock at once (${got} ms)" ||
	not_ok "a clean release did not free the lock" "$got ms"
wait "$pid"

done_testing
