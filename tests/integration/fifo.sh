#!/usr/bin/env bash
# Waiting in a FIFO queue: turns in order of arrival, waiters that leave
# or die do not hold up the ones behind, nothing is left behind, and an
# idle waiter costs the server almost nothing.
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
queue_len() { rcli r llen 'dlock:{k}:queue'; }

# hold: a background holder of k whose command has started; it runs until
# $TMP/release exists. Its pid is in HOLDER.
hold() {
	rm -f "$TMP/started" "$TMP/release"
	"$DLOCK" run k -- sh -c "touch $TMP/started; while [ ! -e $TMP/release ]; do sleep 0.01; done" &
	HOLDER=$!
	track "$HOLDER"
	wait_until 10 test -e "$TMP/started" || not_ok "the holder did not start"
}

# queue_up I [OPTIONS]: a waiter whose command appends I to $TMP/order;
# returns once it is in the queue. Its pid is in W_I.
queue_up() {
	local i=$1 before
	shift
	before=$(queue_len)
	"$DLOCK" run "$@" k -- sh -c "echo $i >> $TMP/order; echo \$((\$(date +%s%N) / 1000000)) > $TMP/start.$i" 2>"$TMP/err.$i" &
	eval "W_$i=$!"
	track "$!"
	wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{k}:queue') -gt $before ]" ||
		not_ok "waiter $i did not join the queue"
}

# 1. Eight waiters started in a known order run in that order.
hold
: >"$TMP/order"
for i in 1 2 3 4 5 6 7 8; do
	queue_up "$i"
done
is "eight waiters are queued" 8 "$(queue_len)"
touch "$TMP/release"
for i in 1 2 3 4 5 6 7 8; do
	eval "wait_exit 20 \$W_$i"
done
is "waiters run in the order they arrived" "1 2 3 4 5 6 7 8" \
	"$(tr '\n' ' ' <"$TMP/order" | sed 's/ $//')"
is "the queue is empty afterwards" 0 "$(queue_len)"
is "nothing is left in Redis but the fence counter" "dlock:{k}:fence" \
	"$(rcli r keys '*')"

# 2. A waiter stopped with TERM leaves at once; the one behind it gets the
# lock promptly.
hold
: >"$TMP/order"
queue_up 1
queue_up 2
kill -TERM "$W_1"
wait_exit 10 "$W_1"
is "a waiter stopped with TERM exits 143" 143 "$WAIT_STATUS"
is "... and leaves the queue at once" 1 "$(queue_len)"
released=$(now_ms)
touch "$TMP/release"
wait_exit 20 "$W_2"
is "the waiter behind it runs" 2 "$(cat "$TMP/order")"
took=$(( $(cat "$TMP/start.2") - released ))
[ "$took" -lt 1500 ] && ok "... promptly (${took} ms after the holder's release was due)" ||
	not_ok "the waiter behind a departed one was held up" "$took ms"
wait_exit 10 "$HOLDER"

# 3. A waiter killed with -9 while it waits keeps no lock handed to it:
# the grant lives to its heartbeat deadline (6 s) plus its lock-delay,
# not for the 30 s lease, and the waiter behind gets the lock then.
hold
: >"$TMP/order"
queue_up 1 --lock-delay 1s
queue_up 2
dead=$(rcli r lindex 'dlock:{k}:queue' 0 | cut -c2-)
kill -9 "$W_1"
wait "$W_1" 2>/dev/null
released=$(now_ms)
touch "$TMP/release"
wait_exit 10 "$HOLDER"
is "the release handed the lock to the first waiter, dead or not" "$dead" \
	"$(rcli r get 'dlock:{k}')"
pttl=$(rcli r pttl 'dlock:{k}')
[ "$pttl" -gt 0 ] && [ "$pttl" -le 7000 ] &&
	ok "... for its heartbeat window and lock-delay at most ($pttl ms)" ||
	not_ok "the grant outlives the window and lock-delay" "pttl $pttl"
wait_exit 30 "$W_2"
is "the waiter behind a killed one runs" 2 "$(cat "$TMP/order")"
took=$(( $(cat "$TMP/start.2") - released ))
# A bound derived from the window, the lock-delay and a heartbeat.
[ "$took" -lt 15000 ] && ok "... once the grant ran out (${took} ms)" ||
	not_ok "a killed waiter stalled the queue" "$took ms"

# 4. -w running out leaves nothing behind, even with others queued.
hold
queue_up 1
"$DLOCK" run -w 0.5 k -- true 2>/dev/null
is "-w timing out with others queued: exit 1" 1 $?
# Queue entries are the mode ("x" exclusive) and the owner token.
is "... only the other waiter is left in the queue" "x$(rcli r hkeys 'dlock:{k}:waiters')" \
	"$(rcli r lrange 'dlock:{k}:queue' 0 -1)"
is "... one waiter" 1 "$(queue_len)"
head=$(rcli r lindex 'dlock:{k}:queue' 0)
is "... and no wake-up list of its own" "" \
	"$(rcli r keys 'dlock:{k}:w:*' | grep -v "${head#x}")"
touch "$TMP/release"
wait_exit 10 "$W_1"
wait_exit 10 "$HOLDER"

# 5. FIFO respects the queue even when the lock is free; --no-fifo grabs.
# The dead waiter is one of dlock acquire, which takes no grants (it has
# no lease thread to renew one at once): the release only wakes it.
hold
before=$(queue_len)
"$DLOCK" acquire -w 60 k >/dev/null &
W_1=$!
track "$W_1"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{k}:queue') -gt $before ]"
kill -9 "$W_1"
wait "$W_1" 2>/dev/null
touch "$TMP/release"
wait_exit 10 "$HOLDER"
"$DLOCK" run -n k -- true 2>"$TMP/err"
is "a free lock with a (dead) waiter first in line: -n waits its turn" 1 $?
like "... saying a waiter ahead has the turn" "$(cat "$TMP/err")" "turn of a waiter ahead"
"$DLOCK" run -n --no-fifo k -- true
is "--no-fifo takes a free lock ahead of the queue" 0 $?
"$DLOCK" run -w 20 k -- true
is "the dead waiter is dropped after its heartbeat window" 0 $?

# 6. A holder in the plain single-key format (redis-py, redsync) is waited
# for: no release notice comes, its TTL running out wakes the waiter.
rcli r set 'dlock:{k}' foreign NX PX 1500 >/dev/null
start=$(now_ms)
"$DLOCK" run -w 10 k -- true
is "a redis-py-format holder is waited for" 0 $?
took=$(( $(now_ms) - start ))
[ "$took" -ge 1200 ] && ok "... until its TTL ran out (${took} ms)" ||
	not_ok "took the lock from a foreign holder" "$took ms"

# 7. --verbose says who holds the lock and the place in the queue.
hold
queue_up 1
"$DLOCK" run --verbose -w 4.5 k -- true 2>"$TMP/err"
like "--verbose names the holder and the place in the queue" "$(cat "$TMP/err")" \
	"waiting for lock 'k', held by .*pid $HOLDER.*; place 2 in the queue"
is "... once, not at every heartbeat, while the holder stays the same" 1 \
	"$(grep -c '^dlock: waiting for lock' "$TMP/err")"
touch "$TMP/release"
wait_exit 10 "$W_1"
wait_exit 10 "$HOLDER"

# 8. No polling: waiters on a long-held lock send a heartbeat every 4 s
# (one script call and one BLPOP), whatever the number of waiters. The
# server counts the commands a script runs as well; the requests waiters
# send are the EVALSHA, EVAL and BLPOP calls.
hold
for i in 1 2 3 4 5 6 7 8; do
	queue_up "$i"
done
rcli r config resetstat >/dev/null
sleep 4
stats=$(rcli r info commandstats)
calls=$(printf '%s\n' "$stats" | awk -F'[=,:]' '/^cmdstat_(evalsha|eval|blpop):/ { n += $3 } END { print n + 0 }')
all=$(printf '%s\n' "$stats" | awk -F'[=,:]' '/^cmdstat_/ && !/cmdstat_(info|config)/ { n += $3 } END { print n + 0 }')
rate=$(awk -v c="$calls" 'BEGIN { printf "%.2f", c / 8 / 4 }')
awk -v r="$rate" 'BEGIN { exit !(r <= 1.5) }' &&
	ok "8 idle waiters: $rate requests per waiter per second ($all commands in all, scripts' included)" ||
	not_ok "waiters poll the server" "$calls requests in 4 s: $rate per waiter per second"
touch "$TMP/release"
for i in 1 2 3 4 5 6 7 8; do
	eval "wait_exit 20 \$W_$i"
done
wait_exit 10 "$HOLDER"

# 9. The handoff in one round trip: the release hands the lock to the
# first waiter, whose command starts without another take. MONITOR shows
# every request in the server's order: between the holder's release
# script (7 keys) and the waiter's command (an ECHO) there must be no
# acquire script (10 keys). The release comes just after a heartbeat of
# the waiter, so that no heartbeat of its own falls in between.
hold
before=$(queue_len)
"$DLOCK" run k -- sh -c "redis-cli -s $TMP/r.sock echo waiter-started >/dev/null; echo \$DLOCK_TOKEN > $TMP/token" &
W_9=$!
track "$W_9"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{k}:queue') -gt $before ]"
owner=$(rcli r lindex 'dlock:{k}:queue' 0 | cut -c2-)
beat=$(rcli r hget 'dlock:{k}:waiters' "$owner")
beaten() { [ "$(rcli r hget 'dlock:{k}:waiters' "$owner")" != "$beat" ]; }
wait_until 20 beaten || not_ok "the waiter sent no heartbeat"
redis-cli -s "$TMP/r.sock" monitor >"$TMP/monitor" &
MON=$!
track "$MON"
wait_until 10 grep -q OK "$TMP/monitor"
touch "$TMP/release"
wait_exit 20 "$W_9"
is "a waiter handed the lock runs its command" 0 "$WAIT_STATUS"
wait_exit 10 "$HOLDER"
kill "$MON"
wait "$MON" 2>/dev/null
between=$(awk '/"EVALSHA" "[0-9a-f]+" "7"|"EVAL" ".*" "7" "dlock:/ && !r { r = 1; next }
	r && tolower($0) ~ /"echo" "waiter-started"/ { print n + 0; exit }
	r && /"EVAL(SHA)?" .* "10" "dlock:/ { n++ }' "$TMP/monitor" | head -n 1)
is "... with no acquire script between the release and its command" 0 "$between"
px=$(sed -n 's/.*\[0 lua\] "SET" "dlock:{k}" "[0-9a-f]*" "PX" "\([0-9]*\)".*/\1/p' "$TMP/monitor" | head -n 1)
[ -n "$px" ] && [ "$px" -gt 12000 ] && [ "$px" -le 18000 ] &&
	ok "... for its heartbeat window (6 s at most) and its lock-delay (12 s) ($px ms)" ||
	not_ok "the grant lives the heartbeat window and the lock-delay" "PX $px"
is "... and the token of the grant, the last of the counter" \
	"$(rcli r get 'dlock:{k}:fence')" "$(cat "$TMP/token")"
is "... which leaves nothing behind but the counter" "dlock:{k}:fence" \
	"$(rcli r keys '*')"

# 10. A waiter that gives up just as the lock is handed to it passes it on
# to the next. The waiter is stopped and its connection cut, so that the
# grant waits unread in its wake-up list; with a lock-delay of an hour,
# only a pass-on can let the waiter behind it in.
hold
: >"$TMP/order"
queue_up 1 --lock-delay 1h
kill -STOP "$W_1"
first=$(rcli r lindex 'dlock:{k}:queue' 0 | cut -c2-)
id=$(rcli r client list | sed -n 's/^id=\([0-9]*\) .*cmd=blpop.*/\1/p')
rcli r client kill id "$id" >/dev/null
queue_up 2
touch "$TMP/release"
wait_exit 10 "$HOLDER"
is "the release handed the lock to the stopped waiter" "$first" \
	"$(rcli r get 'dlock:{k}')"
kill -TERM "$W_1"
kill -CONT "$W_1"
wait_exit 20 "$W_1"
is "... which, stopped with TERM, exits 143" 143 "$WAIT_STATUS"
wait_exit 30 "$W_2"
is "... and passed the lock on to the next waiter" "0 2" \
	"$WAIT_STATUS $(cat "$TMP/order")"
is "... leaving nothing behind but the counter" "dlock:{k}:fence" \
	"$(rcli r keys '*')"

# 11. The first renewal of a lock handed over gives it the whole lease.
hold
rm -f "$TMP/w11" "$TMP/w11.stop"
before=$(queue_len)
"$DLOCK" run --ttl 60s --lock-delay 0 k -- sh -c "touch $TMP/w11; while [ ! -e $TMP/w11.stop ]; do sleep 0.02; done" &
W_11=$!
track "$W_11"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{k}:queue') -gt $before ]"
touch "$TMP/release"
wait_until 10 test -e "$TMP/w11"
renewed() { [ "$(rcli r pttl 'dlock:{k}')" -gt 6000 ]; }
wait_until 10 renewed
is "a lock handed over gets the whole lease at its first renewal" 0 $?
touch "$TMP/w11.stop"
wait_exit 10 "$W_11"
is "... and the command ends with the lock released" "0 dlock:{k}:fence" \
	"$WAIT_STATUS $(rcli r keys '*')"
wait_exit 10 "$HOLDER"

done_testing
