#!/usr/bin/env bash
# The operator's and the script's commands: status, list, acquire, renew,
# release (--owner, --force), and their output to a full disk.
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"
json() { "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# status: free.
out=$("$DLOCK" status free1)
is "status of a free lock exits 1" 1 $?
like "... and says free" "$out" "^free1: free"
"$DLOCK" status -q free1
is "status -q of a free lock: 1" 1 $?
is "status -q prints nothing" "" "$("$DLOCK" status -q free1)"
out=$("$DLOCK" status --json free1)
is "status --json of a free lock: held false" False "$(printf '%s' "$out" | json 'd["held"]')"
is "... no holders" 0 "$(printf '%s' "$out" | json 'len(d["holders"])')"

# status: held exclusively, with a waiter and a lock delay.
rm -f "$TMP/started"
# The holder runs until the test is done with it, however slow the checks.
"$DLOCK" run --lock-delay 2s --ttl 20s dep -- sh -c "touch $TMP/started; while :; do sleep 1; done #marker" &
holder=$!
track "$holder"
wait_until 10 test -e "$TMP/started"
"$DLOCK" run -q dep -- true &
waiter=$!
track "$waiter"
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock llen 'dlock:{dep}:queue') = 1 ]"
out=$("$DLOCK" status dep)
is "status of a held lock exits 0" 0 $?
like "... says held, exclusive" "$out" "^dep: held \(exclusive\)"
like "... names host, pid and user" "$out" "holder:  $(uname -n), pid $holder, user $(id -un)"
like "... the command" "$out" "command: sh -c .*#marker"
like "... since, absolute and relative" "$out" "since:   20[0-9-]+T[0-9:.]+Z \([0-9.]+(ms|s) ago\)"
like "... the lease expiry" "$out" "expires: 20[0-9-]+T[0-9:.]+Z \(in [0-9.]+s; lease 20.0s"
like "... the waiters" "$out" "waiters: 1, first $(uname -n), pid $waiter, user $(id -un) \(exclusive\)"
out=$("$DLOCK" status --json dep)
is "JSON: held" True "$(printf '%s' "$out" | json 'd["held"]')"
is "JSON: mode" exclusive "$(printf '%s' "$out" | json 'd["mode"]')"
is "JSON: holder pid" "$holder" "$(printf '%s' "$out" | json 'd["holders"][0]["pid"]')"
is "JSON: holder host" "$(uname -n)" "$(printf '%s' "$out" | json 'd["holders"][0]["host"]')"
is "JSON: token is the fence" "$(rcli r get 'dlock:{dep}:fence')" \
	"$(printf '%s' "$out" | json 'd["holders"][0]["token"]')"
is "JSON: ttl_ms" 20000 "$(printf '%s' "$out" | json 'd["holders"][0]["ttl_ms"]')"
is "JSON: lock_delay_ms" 2000 "$(printf '%s' "$out" | json 'd["holders"][0]["lock_delay_ms"]')"
is "JSON: since in ms and RFC 3339 agree" True "$(printf '%s' "$out" | json '
__import__("datetime").datetime.strptime(d["holders"][0]["since"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=__import__("datetime").timezone.utc).timestamp() * 1000 == d["holders"][0]["since_ms"]')"
is "JSON: waiters" 1 "$(printf '%s' "$out" | json 'd["waiters"]')"
is "JSON: first waiter's mode" exclusive "$(printf '%s' "$out" | json 'd["first_waiter"]["mode"]')"
is "JSON: no lock delay in force while renewed" False "$(printf '%s' "$out" | json 'd["lock_delay_in_force"]')"

# Lock delay in force: the holder is gone, its lease over, the key kept.
kill -STOP "$holder"
rcli r pexpire 'dlock:{dep}' 1500 >/dev/null
out=$("$DLOCK" status dep)
like "status says a lock-delay is in force" "$out" "lock-delay: the holder stopped renewing; blocked until"
is "JSON: lock_delay_in_force" True "$("$DLOCK" status --json dep | json 'd["lock_delay_in_force"]')"
kill -9 "$holder" "$waiter"

# Shared holders.
rm -f "$TMP/s1" "$TMP/s2"
"$DLOCK" run -s rd -- sh -c "touch $TMP/s1; while :; do sleep 1; done" &
s1=$!
track "$s1"
"$DLOCK" run -s rd -- sh -c "touch $TMP/s2; while :; do sleep 1; done" &
s2=$!
track "$s2"
wait_until 10 test -e "$TMP/s1" -a -e "$TMP/s2"
out=$("$DLOCK" status rd)
like "status of a shared lock" "$out" "^rd: held shared by 2"
is "JSON: two shared holders" "shared 2" "$("$DLOCK" status --json rd | json 'd["mode"], len(d["holders"])' | tr -d "(),'")"
kill -9 "$s1" "$s2"

# list: many locks, with and without a glob.
for i in $(seq 1 300); do
	printf 'SET "dlock:{many-%03d}" tok%d PX 60000\n' "$i" "$i"
done | rcli r >/dev/null
rcli r set 'dlock:{many-001}:fence' 5 >/dev/null
out=$("$DLOCK" list 'many-*')
is "list GLOB: one line per lock plus a header" 301 "$(printf '%s\n' "$out" | wc -l)"
is "... sorted by name" "many-001 many-002" "$(printf '%s\n' "$out" | sed -n '2,3p' | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
like "... a foreign holder is shown as such" "$(printf '%s\n' "$out" | sed -n 2p)" "\(not dlock\)"
is "list --json: an array of 300" 300 "$("$DLOCK" list --json 'many-*' | json 'len(d)')"
is "list without a glob sees them too" 300 "$("$DLOCK" list | grep -c '^many-')"
is "list of a glob that matches nothing prints nothing" "" "$("$DLOCK" list 'nope-*')"
is "... and --json prints an empty array" "[]" "$("$DLOCK" list --json 'nope-*')"
out=$(script -qc "$DLOCK list 'nope-*'" /dev/null | tr -d '\r')
like "... but a person at a terminal sees the header" "$out" "^NAME +MODE +HOLDER"
long=semaphore-with-a-name-longer-than-its-column
rm -f "$TMP/started"
"$DLOCK" run --limit 3 "$long" -- sh -c "touch $TMP/started; while :; do sleep 1; done" &
sem=$!
track "$sem"
wait_until 10 test -e "$TMP/started"
out=$("$DLOCK" list 'semaphore-*')
like "list shows a semaphore's MODE as 'limit N'" "$out" "^$long +limit 3 +$(uname -n):$sem "
header_at=$(printf '%s\n' "$out" | head -n 1 | grep -bo HOLDER | cut -d: -f1)
holder_at=$(printf '%s\n' "$out" | tail -n 1 | grep -bo "$(uname -n):$sem" | cut -d: -f1)
is "... and a long name widens its column: HOLDER stays above the holders" \
	"$header_at" "$holder_at"
kill "$sem"
wait "$sem" 2>/dev/null
"$DLOCK" list 'a{b' 2>"$TMP/err"
is "list with a bad glob: 64" 64 $?
"$DLOCK" list 'many-[0-9' 2>"$TMP/err"
is "list with an unclosed [: 64" 64 $?
like "... saying what is wrong" "$(cat "$TMP/err")" "invalid pattern 'many-\[0-9': a \[ is not closed by \]"

# acquire, renew, release.
tok=$("$DLOCK" acquire --ttl 3s job 2>"$TMP/err")
is "acquire exits 0" 0 $?
like "acquire prints the owner token and nothing else" "$tok" '^[0-9a-f]{32}$'
is "... nothing on stderr" "" "$(cat "$TMP/err")"
is "the lock is held by that token" "$tok" "$(rcli r get 'dlock:{job}')"
like "status shows the calling script as the holder" "$("$DLOCK" status job)" "pid [0-9]+, .*
  command: bash .*ops.sh"
"$DLOCK" acquire -n job 2>/dev/null
is "a second acquire -n: 1" 1 $?
"$DLOCK" renew job --owner "$tok" --ttl 10s
is "renew with the token: 0" 0 $?
pttl=$(rcli r pttl 'dlock:{job}')
[ "$pttl" -gt 5000 ] && ok "renew --ttl extends the lease ($pttl ms)" || not_ok "renew did not extend" "$pttl"
"$DLOCK" renew job --owner "$tok"
pttl=$(rcli r pttl 'dlock:{job}')
[ "$pttl" -gt 2000 ] && [ "$pttl" -le 3000 ] && ok "renew without --ttl uses the lease it was taken with ($pttl ms)" ||
	not_ok "renew without --ttl" "$pttl"
"$DLOCK" renew job --owner 0123456789abcdef0123456789abcdef 2>"$TMP/err"
is "renew with a wrong token: 75" 75 $?
like "... saying the lock is not held by it" "$(cat "$TMP/err")" "^dlock: lock 'job' is not held by owner"
"$DLOCK" release job --owner nothex 2>"$TMP/err"
is "a malformed token: 64" 64 $?
"$DLOCK" release job --owner "$tok"
is "release with the token: 0" 0 $?
is "... the lock is free" 0 "$(rcli r exists 'dlock:{job}')"
"$DLOCK" release job --owner "$tok" 2>/dev/null
is "releasing again: 75" 75 $?
tok=$("$DLOCK" acquire --ttl 1s job)
wait_until 10 sh -c "[ \$(redis-cli -s $TMP/r.sock exists 'dlock:{job}') = 0 ]"
"$DLOCK" renew job --owner "$tok" 2>/dev/null
is "renewing an expired lease: 75" 75 $?
t1=$("$DLOCK" acquire --limit 2 pool)
"$DLOCK" acquire --limit 2 pool >/dev/null
"$DLOCK" acquire --limit 2 -n pool 2>/dev/null
is "acquire --limit 2: a third is refused" 1 $?
"$DLOCK" renew pool --owner "$t1" && "$DLOCK" release pool --owner "$t1"
is "renew and release of a semaphore permit by token" 0 $?
"$DLOCK" acquire --limit 2 -n pool >/dev/null
is "... and its permit is free again" 0 $?
# --lock-delay survives a renewal by token, with or without --ttl.
tok=$("$DLOCK" acquire --ttl 2s --lock-delay 5s ld)
"$DLOCK" renew ld --owner "$tok" --ttl 3s
pttl=$(rcli r pttl 'dlock:{ld}')
[ "$pttl" -gt 5000 ] && ok "renew --ttl keeps the lock delay ($pttl ms)" || not_ok "renew --ttl dropped the lock delay" "$pttl"
# acquire inside a run of the same name does not hand out the run's token.
out=$("$DLOCK" run nest -- "$DLOCK" acquire -n nest 2>&1)
is "acquire inside a run of the same name is refused, not re-entrant (1)" 1 $?
unlike "... and prints no token" "$out" '^[0-9a-f]{32}$'
"$DLOCK" acquire k -- extra 2>/dev/null
is "acquire takes no command: 64" 64 $?
"$DLOCK" acquire --max-hold 1s k 2>/dev/null
is "acquire refuses run-only options: 64" 64 $?
"$DLOCK" release k 2>/dev/null
is "release needs --owner or --force: 64" 64 $?

# release --force: evicts, says whom; the evicted run exits 75.
rm -f "$TMP/started"
"$DLOCK" run --ttl 1s evict -- sh -c "touch $TMP/started; sleep 30 & wait" 2>"$TMP/run.err" &
victim=$!
track "$victim"
wait_until 10 test -e "$TMP/started"
out=$("$DLOCK" release evict --force)
is "release --force exits 0" 0 $?
like "... and prints who was evicted" "$out" "^evict: evicted $(uname -n), pid $victim, user"
is "... the lock is free" 0 "$(rcli r exists 'dlock:{evict}')"
wait_exit 10 "$victim"
is "the evicted run exits 75" 75 "$WAIT_STATUS"
like "... finding out at its next renewal" "$(cat "$TMP/run.err")" "lost lock 'evict': the server no longer has it"
out=$("$DLOCK" release evict --force)
like "release --force of a free lock says so" "$out" "was free"

# Output to a full disk is an error.
"$DLOCK" status dep >/dev/full 2>/dev/null
is "status > /dev/full fails with 74, not the free/held status" 74 $?
"$DLOCK" list >/dev/full 2>/dev/null
[ $? -ne 0 ] && ok "list > /dev/full fails" || not_ok "list > /dev/full did not fail"
"$DLOCK" acquire full >/dev/full 2>"$TMP/err"
is "acquire > /dev/full fails with 74" 74 $?
like "... saying the token went nowhere, so the lock was released" \
	"$(cat "$TMP/err")" "^dlock: cannot write the owner token .*: released lock 'full' again$"
"$DLOCK" status -q full
is "... and the lock is free, not held by a token nobody has" 1 $?

done_testing
