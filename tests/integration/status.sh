#!/usr/bin/env bash
# dlock run's status line: while it waits on a terminal, one line updated in
# place ("\r...ESC[K") and cleared before the command runs; none with -q or
# when stderr is not a terminal; and the line costs the server nothing.
. "$(dirname "$0")/../lib.sh"

unset DLOCK_OWNER DLOCK_PASSWORD REDISCLI_AUTH
start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

# term.py OUT DONE COMMAND...: runs COMMAND as a session leader on a new
# pseudo-terminal 500 columns wide (so the status line is not cut short),
# appends everything it writes to OUT as it comes, and when it has exited
# writes its exit status (or "hang") to DONE.
cat >"$TMP/term.py" <<'EOF'
import fcntl, os, pty, select, signal, struct, sys, termios, time
out, done, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    try:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 500, 0, 0))
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
status = None
end = time.monotonic() + 30
with open(out, "ab", buffering=0) as f:
    while True:
        if select.select([fd], [], [], 0.02)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if chunk:
                f.write(chunk)
                continue
            if status is not None:
                break
        if status is None:
            r, st = os.waitpid(pid, os.WNOHANG)
            if r == pid:
                status = os.waitstatus_to_exitcode(st)
                end = time.monotonic() + 2   # what is still buffered
        if time.monotonic() > end:
            if status is None:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = "hang"
            break
with open(done + ".tmp", "w") as f:
    f.write("%s\n" % status)
os.rename(done + ".tmp", done)
EOF

host=$(uname -n)	# what gethostname() returns
host_re=$(printf '%s' "$host" | sed 's/[][\.*^$()+?{}|]/\\&/g')

held() {
	[ "$(rcli r exists 'dlock:{k}')" = 1 ]
}

# start_holder TAG [run options...]: a dlock holding k until $hstop
# appears. Sets hpid (dlock's pid, the one the status line names).
start_holder() {
	hstop="$TMP/stop-$1"
	shift
	"$DLOCK" run "$@" k -- sh -c \
		'while [ ! -e "$1" ]; do sleep 0.02; done' sh "$hstop" &
	hpid=$!
	track "$hpid"
	if ! wait_until 10 held; then
		echo "Bail out! the holder did not take the lock"
		exit 1
	fi
}

# A waiter blocked on the server (flag b): queued, waiting its turn.
waiting() {
	[ "$(rcli r client list | grep -Ec ' flags=[A-Za-z]*b')" -ge 1 ]
}

# The absence of a status line cannot be awaited: the first one would be
# written at once, the next a second later; give them this long.
settle() {
	sleep 1.3
}

# on_pty TAG COMMAND...: starts COMMAND on a terminal in the background;
# its output goes to $TMP/TAG.out, its exit status to $TMP/TAG.done.
on_pty() {
	local tag=$1
	shift
	rm -f "$TMP/$tag.out" "$TMP/$tag.done"
	: >"$TMP/$tag.out"
	"$PYTHON" "$TMP/term.py" "$TMP/$tag.out" "$TMP/$tag.done" "$@" &
	ppid=$!
	track "$ppid"
}

# finish TAG: waits for on_pty's command; prints its exit status.
finish() {
	wait_exit 20 "$ppid"
	cat "$TMP/$1.done" 2>/dev/null || echo "no status (term.py: $WAIT_STATUS)"
}

# The seconds of each status update in FILE, in order, space-separated.
seconds() {
	grep -ao $'\rdlock: waiting [0-9]*s for' "$1" |
		sed 's/.*waiting \([0-9]*\)s.*/\1/' | tr '\n' ' '
}

# How many status updates FILE holds.
updates() {
	grep -ao $'\rdlock: waiting [0-9]*s for' "$1" | wc -l
}

# The \r and ESC bytes in FILE ("missing" without the file).
control_bytes() {
	if [ -e "$1" ]; then
		tr -dc '\r\033' <"$1" | wc -c
	else
		echo missing
	fi
}

# Whether FILE holds a status update at 2s or later.
late_update() {
	grep -aqE $'\rdlock: waiting ([2-9]|[0-9]{2,})s for' "$1"
}

# --- On a terminal: one line, updated in place, cleared at the end --------

start_holder t1 --ttl 120s
on_pty t1 "$DLOCK" run k -- echo ran
wait_until 15 late_update "$TMP/t1.out"
is "the waiter reached a status update at 2s or later" 0 $?
touch "$hstop"
is "the waiter runs the command once the lock is free, and exits 0" 0 \
	"$(finish t1)"
wait_exit 10 "$hpid"
v=$(cat -v "$TMP/t1.out")	# \r is ^M, ESC is ^[
printf '# pty output: %s\n' "$v" | head -n 3
n=$(grep -aoE $'\rdlock: waiting [0-9]+s for \'k\', place 1, held by '"$host_re, pid $hpid"'[,\033]' \
	"$TMP/t1.out" | wc -l)
if [ "$n" -ge 2 ] && [ "$n" -eq "$(updates "$TMP/t1.out")" ]; then
	ok "$n status updates, each \"waiting Ns for 'k', place 1, held by $host, pid $hpid\""
else
	not_ok "at least two status updates naming k, place 1, $host, pid $hpid" \
		"$n of $(updates "$TMP/t1.out") match; output: $v"
fi
secs=$(seconds "$TMP/t1.out")
# shellcheck disable=SC2086 # a list of numbers
set -- $secs
prev=-1 rising=yes
for s; do
	[ "$s" -ge "$prev" ] || rising=no
	prev=$s
done
if [ "$rising" = yes ] && [ "${1:-x}" = 0 ] && [ "$prev" -ge 2 ]; then
	ok "the waited seconds go up from 0: $secs"
else
	not_ok "the waited seconds go up from 0 to at least 2" "got: $secs"
fi
is "the whole pty output is one line (updates rewritten with \\r, no newline)" \
	"1 line" "$(printf '%s' "$v" | grep -c '') line"
like "every update is \\r<text>ESC[K, then \\r ESC[K clears the line right before the command's output" \
	"$v" "^(\^Mdlock: waiting [0-9]+s for 'k', place 1, held by [^^]*\^\[\[K){2,}\^M\^\[\[Kran\^M$"
like "the line is cleared (\\r ESC[K) before the command's output" "$v" \
	'\^M\^\[\[Kran\^M$'

# --- -q on a terminal: no status line ------------------------------------

start_holder t2 --ttl 120s
on_pty t2 "$DLOCK" run -q k -- echo ran
wait_until 10 waiting
is "-q: the waiter is queued on the server" 0 $?
settle
touch "$hstop"
is "-q: the command runs and dlock exits 0" 0 "$(finish t2)"
wait_exit 10 "$hpid"
is "-q on a terminal: no status line, only the command's output" "ran^M" \
	"$(cat -v "$TMP/t2.out")"

# --- stderr not a terminal: no status line, no control bytes -------------

# A file, while stdin and stdout are still the terminal.
start_holder t3 --ttl 120s
rm -f "$TMP/t3.err"
on_pty t3 sh -c 'err=$1; shift; exec "$@" 2>"$err"' sh "$TMP/t3.err" \
	"$DLOCK" run k -- echo ran
wait_until 10 waiting
is "stderr a file: the waiter is queued on the server" 0 $?
settle
touch "$hstop"
is "stderr a file: the command runs and dlock exits 0" 0 "$(finish t3)"
wait_exit 10 "$hpid"
is "stderr a file: no \\r or ESC bytes in stderr" 0 \
	"$(control_bytes "$TMP/t3.err")"
is "stderr a file (cron, CI): one line says the wait began, nothing more" \
	"1" "$(grep -c . "$TMP/t3.err")"
like "... naming the holder and the place in line" "$(cat "$TMP/t3.err")" \
	"^dlock: waiting for lock 'k', held by $host_re, pid $hpid, .*; place 1 in the queue$"
is "stderr a file: the terminal shows only the command's output" "ran^M" \
	"$(cat -v "$TMP/t3.out")"

# A pipe, no terminal at all; --verbose, so stderr has something to look at.
start_holder t4 --ttl 120s
{ "$DLOCK" run --verbose k -- echo ran 2>&1 >"$TMP/t4.out" | cat >"$TMP/t4.err"; } &
wpid=$!
track "$wpid"
wait_until 10 waiting
is "stderr a pipe: the waiter is queued on the server" 0 $?
settle
touch "$hstop"
wait_exit 20 "$wpid"
wait_exit 10 "$hpid"
is "stderr a pipe: the command ran" ran "$(cat "$TMP/t4.out")"
like "stderr a pipe: --verbose says it waited" "$(cat "$TMP/t4.err")" \
	"waiting for lock 'k', held by $host_re, pid $hpid"
is "stderr a pipe: no \\r or ESC bytes in stderr" 0 \
	"$(control_bytes "$TMP/t4.err")"
unlike "stderr a pipe: no status line" "$(cat -v "$TMP/t4.err")" \
	'waiting [0-9]+s for'

# --- The status line costs the server nothing -----------------------------

calls() {
	local n
	n=$(rcli r info commandstats | tr -d '\r' |
		sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p")
	echo "${n:-0}"
}

# The holder's lease is long enough not to be renewed in the window.
start_holder t5 --ttl 120s
on_pty t5 "$DLOCK" run k -- echo ran
wait_until 10 waiting
is "cost: the waiter is queued on the server" 0 $?
rcli r config resetstat >/dev/null
u0=$(updates "$TMP/t5.out")
sleep 5	# the window measured: a heartbeat (4 s) and some
u1=$(updates "$TMP/t5.out")
e=$(calls evalsha) e2=$(calls eval) b=$(calls blpop)
sent=$((e + e2 + b))
if [ "$sent" -ge 1 ] && [ "$sent" -le 4 ]; then
	ok "cost: $sent requests in 5 s (evalsha $e, eval $e2, blpop $b): a heartbeat's worth"
else
	not_ok "cost: 1 to 4 requests in 5 s for one waiter (a heartbeat's worth)" \
		"got $sent: evalsha $e, eval $e2, blpop $b"
fi
if [ $((u1 - u0)) -ge 2 ]; then
	ok "cost: the status line was updated $((u1 - u0)) times meanwhile"
else
	not_ok "cost: the status line was updated at least twice in 5 s" \
		"updates: $u0 before, $u1 after; output: $(cat -v "$TMP/t5.out")"
fi
touch "$hstop"
is "cost: the command then runs and dlock exits 0" 0 "$(finish t5)"
wait_exit 10 "$hpid"

done_testing
