#!/usr/bin/env bash
# Redis faults while a lock is held: a frozen network path shorter than
# the TTL costs nothing, a longer one is a loss acted on before the
# server-side expiry; a restart with AOF keeps the lock, one without
# persistence is detected as a loss. And faults while waiting.
. "$(dirname "$0")/../lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

start_redis r
start_proxy "$TMP/r.sock"
proxy=$PROXY_PID
P=$PROXY_URL

# 1. A 1 s freeze of the network path against a 3 s lease: no loss.
rm -f "$TMP/started"
"$DLOCK" --url "$P" --connect-timeout 500ms run --ttl 3s k -- \
	sh -c "echo x > $TMP/started; sleep 3" 2>"$TMP/err" &
pid=$!
wait_until 10 test -s "$TMP/started"
kill -STOP "$proxy"
sleep 1
kill -CONT "$proxy"
wait_exit 20 "$pid"
is "a network freeze shorter than the TTL: the command finishes (exit 0)" 0 "$WAIT_STATUS"
unlike "... and nothing was lost" "$(cat "$TMP/err")" "lost"

# 2. A freeze longer than the TTL: the command is told while the server
# still has the key. The trap notes the time with bash's own clock (no
# fork, so no time lost on a busy machine), and the test compares it with
# the key's expiry, read from the server past the frozen proxy (Redis 7
# PEXPIRETIME, on this machine's clock). No renewal reaches the server
# once the proxy is stopped; the later of two reads covers one in flight.
# A 5 s lease leaves 300 ms of margin (5% + drift), as a user would see;
# --lock-delay 0 measures that margin alone (safety.sh tests the default).
rm -f "$TMP/started" "$TMP/told"
"$DLOCK" --url "$P" --connect-timeout 500ms run --ttl 5s --lock-delay 0 k -- \
	bash -c "trap 'echo \${EPOCHREALTIME/./} > $TMP/told; exit 3' TERM
	         echo x > $TMP/started; sleep 30 & wait" 2>"$TMP/err" &
pid=$!
wait_until 10 test -s "$TMP/started"
kill -STOP "$proxy"
frozen=$(now_ms)
expiry=$(redis-cli -s "$TMP/r.sock" pexpiretime 'dlock:{k}')
wait_until 10 sh -c "[ \$(( \$(date +%s%N) / 1000000 - $frozen )) -ge 200 ]"
later=$(redis-cli -s "$TMP/r.sock" pexpiretime 'dlock:{k}')
[ "$later" -gt "$expiry" ] && expiry=$later
wait_exit 20 "$pid"
status=$WAIT_STATUS
kill -CONT "$proxy"
is "a network freeze longer than the TTL: exit 75" 75 "$status"
told=$(( $(cat "$TMP/told" 2>/dev/null || echo 0) / 1000 ))
if [ "$expiry" -gt 0 ] && [ "$told" -gt 0 ] && [ "$told" -lt "$expiry" ]; then
	ok "the command was told $(( expiry - told )) ms before the server-side expiry"
else
	not_ok "the command was not told before the server-side expiry" \
		"told at $told, key expiring at $expiry" "$(cat "$TMP/err")"
fi
elapsed=$(( $(now_ms) - frozen ))
[ "$elapsed" -lt 15000 ] && ok "dlock ended within its deadlines (${elapsed} ms)" ||
	not_ok "dlock took too long" "$elapsed ms"

# 3. Restart with AOF inside the TTL: the lock survives.
start_redis aof --appendonly yes --appendfsync always
A="unix://$TMP/aof.sock"
rm -f "$TMP/started"
"$DLOCK" --url "$A" run --ttl 3s k -- sh -c \
	"echo \$DLOCK_OWNER > $TMP/started; sleep 3" 2>"$TMP/err" &
pid=$!
wait_until 10 test -s "$TMP/started"
kill -9 "$REDIS_PID_aof"
wait "$REDIS_PID_aof" 2>/dev/null
start_redis aof --appendonly yes --appendfsync always
is "after the restart the server still has the lock" "$(cat "$TMP/started")" \
	"$(rcli aof get 'dlock:{k}')"
wait_exit 20 "$pid"
is "restart with AOF within the TTL: no loss (exit 0)" 0 "$WAIT_STATUS"
unlike "... and no message about a loss" "$(cat "$TMP/err")" "lost"

# 4. Restart without persistence: detected as soon as the holder reconnects
# (tests/integration/restart.sh measures how soon).
start_redis np --appendonly no
rm -f "$TMP/started"
"$DLOCK" --url "unix://$TMP/np.sock" run --ttl 3s k -- sh -c \
	"echo x > $TMP/started; sleep 30 & wait" 2>"$TMP/err" &
pid=$!
wait_until 10 test -s "$TMP/started"
kill -9 "$REDIS_PID_np"
wait "$REDIS_PID_np" 2>/dev/null
start_redis np --appendonly no
wait_exit 20 "$pid"
is "restart without persistence: exit 75" 75 "$WAIT_STATUS"
# Named as a restart only if the holder had learnt the first server's
# run_id before the kill; restart.sh waits for that, this test need not.
like "... because the server no longer has the lock" "$(cat "$TMP/err")" \
	"no longer has it"

# 5. While waiting: the server goes away and comes back; a waiter with -w
# keeps trying and says why with --verbose.
start_redis w
rm -f "$TMP/started"
"$DLOCK" --url "unix://$TMP/w.sock" run k -- sh -c "echo x > $TMP/started; sleep 30" &
holder=$!
track "$holder"
wait_until 10 test -s "$TMP/started"
"$DLOCK" --url "unix://$TMP/w.sock" run --verbose -w 20 k2 -- true >/dev/null 2>&1
"$DLOCK" --url "unix://$TMP/w.sock" run --verbose -w 4 k -- true 2>"$TMP/werr" &
waiter=$!
wait_until 10 grep -q "waiting for lock 'k'" "$TMP/werr"
kill -9 "$REDIS_PID_w"
wait "$REDIS_PID_w" 2>/dev/null
wait_exit 20 "$waiter"
is "a waiter whose server went away gives up when -w runs out (69)" 69 "$WAIT_STATUS"
like "... after retrying, saying why" "$(cat "$TMP/werr")" \
	"cannot connect.*retrying in [0-9]+ ms"
kill -9 "$holder" 2>/dev/null

start_redis w2
rm -f "$TMP/started"
"$DLOCK" --url "unix://$TMP/w2.sock" run --ttl 1s k -- sh -c "echo x > $TMP/started; sleep 30" &
holder=$!
track "$holder"
wait_until 10 test -s "$TMP/started"
"$DLOCK" --url "unix://$TMP/w2.sock" run --verbose k -- touch "$TMP/ran" 2>"$TMP/werr" &
waiter=$!
wait_until 10 grep -q "waiting for lock 'k'" "$TMP/werr"
kill -9 "$holder" "$REDIS_PID_w2"
wait "$REDIS_PID_w2" 2>/dev/null
sleep 0.5	# the waiter meets a dead server for a while
start_redis w2
wait_exit 20 "$waiter"
if [ "$WAIT_STATUS" = 0 ]; then
	ok "a plain waiter rides out a server restart and runs its command"
else
	not_ok "a plain waiter did not ride out a restart" "status $WAIT_STATUS" "$(cat "$TMP/werr")"
fi
[ -e "$TMP/ran" ] && ok "... the command ran" || not_ok "the command did not run"

done_testing
