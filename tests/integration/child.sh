#!/usr/bin/env bash
# dlock run and its command: what the command inherits (environment without
# dlock's secrets, no Redis connection), exit statuses when it cannot run or
# is killed, nested use, and locks held by other Redis clients.
. "$(dirname "$0")/../lib.sh"

unset DLOCK_OWNER DLOCK_PASSWORD REDISCLI_AUTH DLOCK_CONFIG
export XDG_CONFIG_HOME="$TMP/xdg"	# no user config file
start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

# True once the file exists.
appeared() {
	test -e "$1"
}

# The command's side of a run that waits: writes its pid to DIR/pid, then
# runs until DIR/stop exists.
waiter_cmd() {
	echo "echo \$\$ > $1/pid.tmp && mv $1/pid.tmp $1/pid; while [ ! -e $1/stop ]; do sleep 0.02; done"
}

# --- Secrets and the command's environment --------------------------------

pw="s3cret-$RANDOM$RANDOM"
start_redis p --requirepass "$pw"
P_URL="unix://$TMP/p.sock"

DLOCK_URL=$P_URL "$DLOCK" run k -- true 2>/dev/null
is "the password server refuses a client without a password (77)" 77 $?

out=$(DLOCK_URL=$P_URL DLOCK_PASSWORD=$pw "$DLOCK" run k -- env)
is "DLOCK_PASSWORD authenticates" 0 $?
like "the command's environment is there" "$out" '^DLOCK_NAME=k$'
unlike "DLOCK_PASSWORD is not in the command's environment" "$out" \
	'^DLOCK_PASSWORD='
unlike "the password is nowhere in the command's environment" "$out" "$pw"

out=$(DLOCK_URL=$P_URL REDISCLI_AUTH=$pw "$DLOCK" run k -- env)
is "REDISCLI_AUTH alone authenticates" 0 $?
like "REDISCLI_AUTH stays in the command's environment" "$out" \
	"^REDISCLI_AUTH=$pw\$"

printf '%s\n' "$pw" >"$TMP/pwfile"
chmod 600 "$TMP/pwfile"
out=$(DLOCK_URL=$P_URL "$DLOCK" --password-file "$TMP/pwfile" run k -- env)
is "--password-file authenticates" 0 $?
unlike "a --password-file password is not put in the command's environment" \
	"$out" "$pw"

# The running processes, as others see them in /proc.
check_proc() {	# DESCRIPTION DIR DLOCK-PID
	local cmdline cenv cpid
	wait_until 10 appeared "$2/pid" || not_ok "$1: the command started"
	cpid=$(cat "$2/pid" 2>/dev/null)
	track "$cpid"
	cmdline=$(tr '\0' ' ' <"/proc/$3/cmdline")
	like "$1: dlock's argv was read" "$cmdline" ' run k '
	unlike "$1: the password is not in dlock's argv" "$cmdline" "$pw"
	cenv=$(tr '\0' '\n' <"/proc/$cpid/environ")
	like "$1: the command's environ was read" "$cenv" '^DLOCK_NAME=k$'
	unlike "$1: the password is not in the command's environ" "$cenv" \
		"$pw"
	unlike "$1: the password is not in the command's argv" \
		"$(tr '\0' ' ' <"/proc/$cpid/cmdline")" "$pw"
	touch "$2/stop"
	wait_exit 10 "$3"
	is "$1: the run ends normally" 0 "$WAIT_STATUS"
}

mkdir "$TMP/pe"
DLOCK_URL=$P_URL DLOCK_PASSWORD=$pw "$DLOCK" run k -- sh -c "$(waiter_cmd "$TMP/pe")" &
pid=$!
track "$pid"
check_proc "DLOCK_PASSWORD" "$TMP/pe" "$pid"

mkdir "$TMP/pf"
DLOCK_URL=$P_URL "$DLOCK" --password-file "$TMP/pwfile" run k -- sh -c "$(waiter_cmd "$TMP/pf")" &
pid=$!
track "$pid"
check_proc "--password-file" "$TMP/pf" "$pid"

# --- Commands that cannot run, or are killed ------------------------------

released() {
	is "$1: the lock is released" "0 " \
		"$(rcli r exists 'dlock:{k}') $(rcli r keys 'dlock:{k}:holder:*')"
}

"$DLOCK" run k -- no-such-command-dlock-test 2>"$TMP/err"
is "a command that does not exist: 127" 127 $?
like "... with a dlock: message" "$(cat "$TMP/err")" \
	'^dlock: .*no-such-command-dlock-test'
released "command not found"

printf '#!/bin/sh\necho ran\n' >"$TMP/notexec"
chmod 644 "$TMP/notexec"
out=$("$DLOCK" run k -- "$TMP/notexec" 2>"$TMP/err")
is "a file that is not executable: 126" 126 $?
like "... with a dlock: message" "$(cat "$TMP/err")" '^dlock: .*notexec'
is "... and nothing ran" "" "$out"
released "not executable"

"$DLOCK" run k -- sh -c 'kill -KILL $$'
is "a command killed by SIGKILL: 137" 137 $?
released "killed by SIGKILL"
"$DLOCK" run k -- sh -c 'kill -USR1 $$'
is "a command killed by SIGUSR1: 138" 138 $?
"$DLOCK" run k -c 'kill -SEGV $$'
is "a -c command killed by SIGSEGV: 139" 139 $?
released "killed by a signal"

# --- Nested use -----------------------------------------------------------

get() {
	echo "redis-cli -s $TMP/r.sock get '$1'"
}

n=$TMP/nest
mkdir "$n"
"$DLOCK" run k -- sh -c "
	echo \$DLOCK_OWNER > $n/outer
	\"$DLOCK\" run k -- sh -c \"$(get 'dlock:{k}') > $n/held_inner; echo inner; echo \\\$DLOCK_OWNER > $n/inner_owner\"
	echo \$? > $n/inner_status
	$(get 'dlock:{k}') > $n/held_after" >"$n/out" &
pid=$!
track "$pid"
wait_exit 10 "$pid"
is "nested run of the same name: runs at once and ends" 0 "$WAIT_STATUS"
is "nested run of the same name: the inner command ran" inner \
	"$(cat "$n/out")"
is "nested run of the same name: the inner dlock exits 0" 0 \
	"$(cat "$n/inner_status" 2>/dev/null)"
like "the outer command saw an owner" "$(cat "$n/outer")" '^[0-9a-f]{32}$'
is "while the inner runs, the outer's owner holds the key" \
	"$(cat "$n/outer")" "$(cat "$n/held_inner" 2>/dev/null)"
is "the inner command sees the outer's DLOCK_OWNER" \
	"$(cat "$n/outer")" "$(cat "$n/inner_owner" 2>/dev/null)"
is "after the inner ends, the outer still holds the key" \
	"$(cat "$n/outer")" "$(cat "$n/held_after" 2>/dev/null)"
released "nested"

n=$TMP/nest2
mkdir "$n"
"$DLOCK" run a -- sh -c "
	echo \$DLOCK_OWNER > $n/a_owner
	\"$DLOCK\" run b -- sh -c \"$(get 'dlock:{b}') > $n/b_held; $(get 'dlock:{a}') > $n/a_held; echo \\\$DLOCK_OWNER > $n/b_owner; echo \\\$DLOCK_NAME > $n/b_name\"
	echo \$? > $n/inner_status
	redis-cli -s $TMP/r.sock exists 'dlock:{b}' > $n/b_after
	$(get 'dlock:{a}') > $n/a_after" &
pid=$!
track "$pid"
wait_exit 10 "$pid"
is "nested run of another name ends" "0 0" \
	"$WAIT_STATUS $(cat "$n/inner_status" 2>/dev/null)"
is "the inner command runs as lock b" b "$(cat "$n/b_name" 2>/dev/null)"
like "lock b has an owner of its own" "$(cat "$n/b_owner" 2>/dev/null)" \
	'^[0-9a-f]{32}$'
if [ "$(cat "$n/b_owner" 2>/dev/null)" != "$(cat "$n/a_owner")" ]; then
	ok "lock b's owner differs from lock a's"
else
	not_ok "lock b's owner differs from lock a's" \
		"both: $(cat "$n/a_owner")"
fi
is "while running, b's key holds b's owner" \
	"$(cat "$n/b_owner" 2>/dev/null)" "$(cat "$n/b_held" 2>/dev/null)"
is "while b runs, a's key still holds a's owner" \
	"$(cat "$n/a_owner")" "$(cat "$n/a_held" 2>/dev/null)"
is "b is released when the inner run ends" 0 \
	"$(cat "$n/b_after" 2>/dev/null)"
is "a is still held by the outer then" "$(cat "$n/a_owner")" \
	"$(cat "$n/a_after" 2>/dev/null)"
is "both are free at the end" "0" \
	"$(rcli r exists 'dlock:{a}' 'dlock:{b}')"

# A DLOCK_OWNER the server does not know opens nothing.
h=$TMP/holder
mkdir "$h"
"$DLOCK" run k -- sh -c "echo \$DLOCK_OWNER > $h/owner; $(waiter_cmd "$h")" &
hpid=$!
track "$hpid"
wait_until 10 appeared "$h/pid"
track "$(cat "$h/pid")"
stale=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
rm -f "$TMP/marker"
DLOCK_OWNER=$stale "$DLOCK" run -n k -- touch "$TMP/marker" 2>"$TMP/err"
is "a random DLOCK_OWNER does not get past a holder (-n: 1)" 1 $?
is "... and its command did not run" no \
	"$(test -e "$TMP/marker" && echo yes || echo no)"
old_owner=$(cat "$TMP/nest/outer")
DLOCK_OWNER=$old_owner "$DLOCK" run -n k -- touch "$TMP/marker" 2>"$TMP/err"
is "a past holder's DLOCK_OWNER does not get past a holder (-n: 1)" 1 $?
is "the holder still holds k" "$(cat "$h/owner")" \
	"$(rcli r get 'dlock:{k}')"
touch "$h/stop"
wait_exit 10 "$hpid"
out=$(DLOCK_OWNER=$stale "$DLOCK" run -n k -- printenv DLOCK_OWNER)
is "with the lock free, a stale DLOCK_OWNER takes it normally" 0 $?
like "... under a fresh owner" "$out" '^[0-9a-f]{32}$'
unlike "... not the stale one" "$out" "^$stale\$"

# --- Other Redis clients' locks on the same key ---------------------------

rcli r set 'dlock:{f}' someone NX PX 60000 >/dev/null
rm -f "$TMP/marker"
"$DLOCK" run -n f -- touch "$TMP/marker" 2>"$TMP/err"
is "a redis-py style holder (no details) makes -n exit 1" 1 $?
like "... with a message about lock f" "$(cat "$TMP/err")" "^dlock: .*'f'"
is "... the command did not run" no \
	"$(test -e "$TMP/marker" && echo yes || echo no)"
is "... and the foreign holder keeps its key" someone \
	"$(rcli r get 'dlock:{f}')"
"$DLOCK" run -w 300ms f -- touch "$TMP/marker" 2>"$TMP/err"
is "a redis-py style holder makes -w run out (1)" 1 $?
like "... with a message" "$(cat "$TMP/err")" "^dlock: .*'f'"

rcli r set 'dlock:{g}' forever >/dev/null
"$DLOCK" run -n g -- true 2>"$TMP/err"
is "a foreign holder without an expiry makes -n exit 1" 1 $?
like "... with a message" "$(cat "$TMP/err")" "^dlock: .*'g'"

"$DLOCK" run k -- sh -c "redis-cli -s $TMP/r.sock set 'dlock:{k}' x NX PX 1000 > $TMP/setnx; echo \$DLOCK_OWNER > $TMP/own; $(get 'dlock:{k}') > $TMP/after"
is "while dlock holds k, SET NX by another client returns nil" "" \
	"$(cat "$TMP/setnx")"
is "... and dlock's owner still holds it" "$(cat "$TMP/own")" \
	"$(cat "$TMP/after")"
released "after the foreign SET NX"

# --- The command's file descriptors ---------------------------------------

# ls opens the directory itself: the same listing without dlock tells
# which descriptors every command here has anyway.
fds_cmd='ls /proc/self/fd | sort -n | tr "\n" " "'
base=$(sh -c "$fds_cmd")
under=$("$DLOCK" run k -- sh -c "$fds_cmd")
is "the command inherits no descriptor of dlock's" "$base" "$under"
under=$("$DLOCK" run k -- "$DLOCK" run k -- sh -c "$fds_cmd")
is "... nor of a nested dlock's (re-entrant)" "$base" "$under"
under=$(DLOCK_URL=$P_URL DLOCK_PASSWORD=$pw "$DLOCK" run k -- sh -c "$fds_cmd")
is "... nor after an authenticated connection" "$base" "$under"
like "the listing shows the standard descriptors" "$under" '^0 1 2 '
if [ "$base" != "$under" ]; then
	"$DLOCK" run k -- sh -c 'ls -l /proc/$$/fd' | sed 's/^/#   /'
fi

done_testing
