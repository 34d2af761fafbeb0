#!/usr/bin/env bash
# dlock status and the busy messages tell the truth (issue 11): who renews
# a lease, the lease a renewal by token set, a lock-delay rather than a
# dead holder, and who the first waiter is.
. "$(dirname "$0")/../lib.sh"

unset DLOCK_OWNER DLOCK_PASSWORD REDISCLI_AUTH
start_redis r
export DLOCK_URL="unix://$TMP/r.sock"
json() { "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
host=$(uname -n)

# --- dlock renew --ttl: the lease shown is the new one ---------------------

tok=$("$DLOCK" acquire --ttl 3s rn)
"$DLOCK" renew rn --owner "$tok" --ttl 1m
is "renew --ttl 1m: 0" 0 $?
like "status shows the lease renew --ttl set" "$("$DLOCK" status rn)" \
	"expires: .*; lease 1m00s"
is "JSON: ttl_ms is the new lease" 60000 \
	"$("$DLOCK" status --json rn | json 'd["holders"][0]["ttl_ms"]')"
"$DLOCK" renew rn --owner "$tok"
pttl=$(rcli r pttl 'dlock:{rn}')
[ "$pttl" -le 3000 ] && ok "renew without --ttl then renews for the lease it was taken with ($pttl ms)" ||
	not_ok "renew without --ttl after --ttl 1m" "$pttl"
like "... which status shows again" "$("$DLOCK" status rn)" "lease 3.0s,"
"$DLOCK" release rn --owner "$tok"

t1=$("$DLOCK" acquire -s --ttl 3s rs)
"$DLOCK" renew rs --owner "$t1" --ttl 2m
is "a shared holder's renew --ttl 2m is shown too" 120000 \
	"$("$DLOCK" status --json rs | json 'd["holders"][0]["ttl_ms"]')"
"$DLOCK" release rs --owner "$t1"

# --- Who renews the lease ------------------------------------------------

rm -f "$TMP/started"
"$DLOCK" run --ttl 20s byrun -- sh -c "touch $TMP/started; sleep 30" &
holder=$!
track "$holder"
wait_until 10 test -e "$TMP/started"
like "a dlock run lock: renewed by its holder" "$("$DLOCK" status byrun)" \
	"expires: .*; lease 20.0s \+ lock-delay 12.0s, renewed by its holder\)"
is "JSON: renewal by_holder" by_holder \
	"$("$DLOCK" status --json byrun | json 'd["holders"][0]["renewal"]')"
kill "$holder"
wait_exit 10 "$holder"

tok=$("$DLOCK" acquire --ttl 20s byacq)
out=$("$DLOCK" status byacq)
like "a dlock acquire lock: renewed only by 'dlock renew'" "$out" \
	"expires: .*; lease 20.0s, renewed only by 'dlock renew'\)"
unlike "... not 'renewed by its holder'" "$out" "renewed by its holder"
is "JSON: renewal by_token" by_token \
	"$("$DLOCK" status --json byacq | json 'd["holders"][0]["renewal"]')"
"$DLOCK" renew byacq --owner "$tok" --ttl 30s
like "... still so after a renew" "$("$DLOCK" status byacq)" \
	"lease 30.0s, renewed only by 'dlock renew'\)"
"$DLOCK" release byacq --owner "$tok"

rcli r set 'dlock:{foreign}' sometoken PX 20000 >/dev/null
is "JSON: renewal null for a holder that left no details" None \
	"$("$DLOCK" status --json foreign | json 'd["holders"][0]["renewal"]')"

# A dead holder under a lock-delay: SIGKILLed, its lease made to run out
# (the key's life cut below the lock delay, as when its lease ends).
rm -f "$TMP/started"
"$DLOCK" run --ttl 20s --lock-delay 60s dead -- sh -c "touch $TMP/started; sleep 60" &
dead=$!
track "$dead"
wait_until 10 test -e "$TMP/started"
kill -9 "$dead"
wait_exit 10 "$dead" 2>/dev/null
rcli r pexpire 'dlock:{dead}' 30000 >/dev/null
out=$("$DLOCK" status dead)
like "a dead holder under lock-delay: the lock-delay line" "$out" \
	"lock-delay: the holder stopped renewing; blocked until"
unlike "... and no 'renewed by' on its expires line" "$out" "renewed"
like "... which still gives the lease and the delay" "$out" \
	"expires: .*; lease 20.0s \+ lock-delay 1m00s\)"
is "JSON: renewal stopped" stopped \
	"$("$DLOCK" status --json dead | json 'd["holders"][0]["renewal"]')"

# --- A contender is told of the lock-delay, not of a dead holder ----------

"$DLOCK" run -n dead -- true 2>"$TMP/err"
is "-n under a lock-delay: 1" 1 $?
err=$(cat "$TMP/err")
like "... says blocked by its lock-delay until HH:MM:SS" "$err" \
	"^dlock: lock 'dead' is blocked by its lock-delay until [0-9]{2}:[0-9]{2}:[0-9]{2} \([0-9.]+s more\): its holder stopped renewing; not waiting \(-n\)$"
unlike "... and does not name the dead pid as the holder" "$err" "held by|pid $dead"
"$DLOCK" run -w 0.3 --verbose dead -- true 2>"$TMP/err"
is "-w under a lock-delay: 1" 1 $?
err=$(cat "$TMP/err")
like "... --verbose's waiting line says so" "$err" \
	"waiting for lock 'dead', blocked by its lock-delay until [0-9:]{8} \([0-9.]+s more\): its holder stopped renewing"
like "... and so does giving up" "$err" \
	"gave up waiting for lock 'dead', blocked by its lock-delay until [0-9:]{8}"
unlike "... never naming the dead pid" "$err" "held by|pid $dead"

# --- The first waiter, by host, pid and user ------------------------------

rm -f "$TMP/started"
"$DLOCK" run --ttl 20s q -- sh -c "touch $TMP/started; sleep 30" &
qh=$!
track "$qh"
wait_until 10 test -e "$TMP/started"
"$DLOCK" run -q q -- true &
qw=$!
track "$qw"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{q}:queue') = 1 ]"
wtok=$(rcli r lindex 'dlock:{q}:queue' 0 | cut -c2-)
like "status names the first waiter by host, pid and user" "$("$DLOCK" status q)" \
	"waiters: 1, first $host, pid $qw, user $(id -un) \(exclusive\)"
out=$("$DLOCK" status --json q)
is "JSON: first waiter's owner" "$wtok" "$(printf '%s' "$out" | json 'd["first_waiter"]["owner"]')"
is "JSON: first waiter's host" "$host" "$(printf '%s' "$out" | json 'd["first_waiter"]["host"]')"
is "JSON: first waiter's pid" "$qw" "$(printf '%s' "$out" | json 'd["first_waiter"]["pid"]')"
is "JSON: first waiter's user" "$(id -un)" "$(printf '%s' "$out" | json 'd["first_waiter"]["user"]')"
is "JSON: first waiter's command" true "$(printf '%s' "$out" | json 'd["first_waiter"]["command"]')"
is "JSON: first waiter's since is a server time" True \
	"$(printf '%s' "$out" | json 'd["first_waiter"]["since_ms"] <= d["server_time_ms"]')"
pttl=$(rcli r pttl "dlock:{q}:waiter:$wtok")
[ "$pttl" -gt 0 ] && [ "$pttl" -le 6000 ] &&
	ok "the waiter's hash expires with its heartbeat ($pttl ms)" ||
	not_ok "the waiter's hash expires with its heartbeat" "pttl $pttl"
kill "$qw"
wait_exit 10 "$qw"
is "a waiter that leaves takes its hash with it" 0 "$(rcli r exists "dlock:{q}:waiter:$wtok")"

"$DLOCK" run -q q -- true &
qw=$!
track "$qw"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{q}:queue') = 1 ]"
wtok=$(rcli r lindex 'dlock:{q}:queue' 0 | cut -c2-)
kill "$qh"
wait_exit 10 "$qh"
wait_exit 10 "$qw"
is "the waiter took the lock and ran" 0 "$WAIT_STATUS"
is "a waiter that takes the lock takes its hash with it" 0 "$(rcli r exists "dlock:{q}:waiter:$wtok")"

# A dead waiter: SIGKILLed in the queue, dropped at the head.
rm -f "$TMP/started"
"$DLOCK" run --ttl 20s q -- sh -c "touch $TMP/started; sleep 30" &
qh=$!
track "$qh"
wait_until 10 test -e "$TMP/started"
"$DLOCK" run -q q -- true &
qw=$!
track "$qw"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{q}:queue') = 1 ]"
wtok=$(rcli r lindex 'dlock:{q}:queue' 0 | cut -c2-)
kill -9 "$qw"
wait_exit 10 "$qw" 2>/dev/null
gone() { [ "$(rcli r exists "dlock:{q}:waiter:$wtok")" = 0 ]; }
wait_until 10 gone
is "a dead waiter's hash expires with its heartbeat" 0 $?
# Its queue entry outlives the hash until dropped: status falls back.
like "a waiter without a hash is shown by its owner token" "$("$DLOCK" status q)" \
	"waiters: 1, first $wtok \(exclusive\)"
rcli r del 'dlock:{q}:queue' 'dlock:{q}:waiters' >/dev/null
kill "$qh"
wait_exit 10 "$qh"

# --- A lock handed to a waiter, before it confirms ------------------------

# The waiter is stopped and its connection cut, so that the grant stays
# unconfirmed while we look: status shows it as the holder, with its
# details, the grant's end and its lock-delay, not as a dead holder.
rm -f "$TMP/started" "$TMP/stop"
"$DLOCK" run --ttl 20s g -- sh -c "touch $TMP/started; while [ ! -e $TMP/stop ]; do sleep 0.02; done" &
gh=$!
track "$gh"
wait_until 10 test -e "$TMP/started"
"$DLOCK" run -q --ttl 20s --lock-delay 40s g -- sleep 30 &
gw=$!
track "$gw"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{g}:queue') = 1 ]"
kill -STOP "$gw"
gtok=$(rcli r lindex 'dlock:{g}:queue' 0 | cut -c2-)
id=$(rcli r client list | sed -n 's/^id=\([0-9]*\) .*cmd=blpop.*/\1/p')
rcli r client kill id "$id" >/dev/null
touch "$TMP/stop"
wait_exit 10 "$gh"
is "a release hands the lock to the waiter" "$gtok" "$(rcli r get 'dlock:{g}')"
out=$("$DLOCK" status g)
like "status names the waiter handed the lock as its holder" "$out" \
	"holder: +$host, pid $gw, user $(id -un)"
like "... with its command and its lease, renewed by its holder" "$out" \
	"expires: .*; lease 20.0s \+ lock-delay 40.0s, renewed by its holder\)"
unlike "... not blocked by a lock-delay: its grant is still good" "$out" \
	"lock-delay: the holder stopped renewing"
out=$("$DLOCK" status --json g)
is "JSON: the holder's token is the grant's" "$(rcli r get 'dlock:{g}:fence')" \
	"$(printf '%s' "$out" | json 'd["holders"][0]["token"]')"
is "JSON: its command" "sleep 30" \
	"$(printf '%s' "$out" | json 'd["holders"][0]["command"]')"
is "JSON: no waiter left" 0 "$(printf '%s' "$out" | json 'd["waiters"]')"
pttl=$(rcli r pttl 'dlock:{g}')
[ "$pttl" -gt 40000 ] && [ "$pttl" -le 46000 ] &&
	ok "the grant lives its heartbeat window and lock-delay ($pttl ms)" ||
	not_ok "the grant lives its heartbeat window and lock-delay" "pttl $pttl"
kill -9 "$gw"
wait_exit 10 "$gw" 2>/dev/null

done_testing
