#!/usr/bin/env bash
# dlock run and signals: every signal sent to dlock reaches the command
# exactly once, ^C and ^Z on a terminal behave as under a shell, SIGKILL of
# dlock stops the command, and a signal while waiting ends the wait without
# running the command or leaving anything behind in Redis.
. "$(dirname "$0")/../lib.sh"

unset DLOCK_OWNER DLOCK_PASSWORD REDISCLI_AUTH
start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

# counter.py DIR SIGS STOP: logs each signal in SIGS (comma-separated names
# without SIG, or "-") to DIR/log, one line per delivery; writes its pid and
# DLOCK_OWNER to DIR/ready; when DIR/stop appears, ends as STOP says:
# "exit:N" exits N, "kill:SIG" dies of SIG. Handlers are set explicitly, so
# a signal ignored on entry (a background job's INT and QUIT) still counts.
cat >"$TMP/counter.py" <<'EOF'
import os, signal, sys, time
d, sigs, stop = sys.argv[1], sys.argv[2], sys.argv[3]
def count(sig, frame):
    with open(os.path.join(d, "log"), "a") as f:
        f.write(signal.Signals(sig).name[3:] + "\n")
for name in sigs.split(",") if sigs != "-" else []:
    signal.signal(getattr(signal, "SIG" + name), count)
with open(os.path.join(d, "ready.tmp"), "w") as f:
    f.write("%d %s\n" % (os.getpid(), os.environ.get("DLOCK_OWNER", "")))
os.rename(os.path.join(d, "ready.tmp"), os.path.join(d, "ready"))
while not os.path.exists(os.path.join(d, "stop")):
    time.sleep(0.01)
how, arg = stop.split(":")
if how == "exit":
    sys.exit(int(arg))
sig = getattr(signal, "SIG" + arg)
signal.signal(sig, signal.SIG_DFL)
os.kill(os.getpid(), sig)
time.sleep(10)
sys.exit(99)
EOF

# A fresh directory for one counter.
newdir() {
	rm -rf "${TMP:?}/${1:?}"
	mkdir "$TMP/$1"
	echo "$TMP/$1"
}

counter=("$PYTHON" "$TMP/counter.py")

# How often SIG appears in DIR/log.
count_of() {
	grep -cx "$2" "$1/log" 2>/dev/null
}

logged() {
	[ "$(count_of "$1" "$2")" -ge 1 ]
}

# The log as one line, for the exact-once comparisons.
log_line() {
	tr '\n' ' ' 2>/dev/null <"$1/log"
}

# A duplicate delivery would come right after the first one; its absence
# cannot be awaited, so give it this long to show up.
settle() {
	sleep 0.3
}

# stat_field PID N: field N (3 = state, 5 = pgrp) of /proc/PID/stat.
stat_field() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	local -a f
	read -ra f <<<"$s"
	echo "${f[$2 - 3]}"
}

# True once PID has exited (a zombie nobody reaps counts as gone).
gone() {
	local st
	st=$(stat_field "$1" 3) || return 0
	[ "$st" = Z ] || [ "$st" = X ]
}

# --- TERM reaches the command once; dlock exits with its status ----------

d=$(newdir term)
"$DLOCK" run k -- "${counter[@]}" "$d" TERM exit:3 &
pid=$!
track "$pid"
wait_until 10 test -e "$d/ready" || not_ok "the counter started"
read -r cpid owner <"$d/ready"
track "$cpid"
is "the key holds the command's DLOCK_OWNER" "$owner" "$(rcli r get 'dlock:{k}')"
kill -TERM "$pid"
wait_until 10 logged "$d" TERM
settle
is "dlock is still running after a TERM the command handles" 0 \
	"$(kill -0 "$pid" 2>/dev/null; echo $?)"
touch "$d/stop"
wait_exit 10 "$pid"
is "dlock exits with the command's status (3)" 3 "$WAIT_STATUS"
is "TERM to dlock reaches the command exactly once" "TERM " "$(log_line "$d")"
is "the lock is released after a TERM" 0 "$(rcli r exists 'dlock:{k}')"

d=$(newdir term-trap)
"$DLOCK" run k -- sh -c "trap 'echo TERM >> $d/log; exit 3' TERM; touch $d/ready; while :; do sleep 0.05; done" &
pid=$!
track "$pid"
wait_until 10 test -e "$d/ready"
kill -TERM "$pid"
wait_exit 10 "$pid"
is "a shell command whose TERM trap exits 3: dlock exits 3" 3 "$WAIT_STATUS"
is "the trap ran once" "TERM " "$(log_line "$d")"
is "the lock is released after the trap's exit" 0 \
	"$(rcli r exists 'dlock:{k}')"

d=$(newdir term-die)
"$DLOCK" run k -- "${counter[@]}" "$d" - exit:0 &
pid=$!
track "$pid"
wait_until 10 test -e "$d/ready"
read -r cpid owner <"$d/ready"
track "$cpid"
kill -TERM "$pid"
wait_exit 10 "$pid"
is "a command that dies of the forwarded TERM: dlock exits 143" 143 \
	"$WAIT_STATUS"
wait_until 10 gone "$cpid"
is "the command is gone" 0 $?
is "the lock is released after the command died of TERM" 0 \
	"$(rcli r exists 'dlock:{k}')"
is "no holder details are left" "" "$(rcli r keys 'dlock:{k}:holder:*')"

# --- INT HUP QUIT USR1 USR2 WINCH: each once, the command keeps running ---

d=$(newdir each)
sigs="INT HUP QUIT USR1 USR2 WINCH"
"$DLOCK" run k -- "${counter[@]}" "$d" "${sigs// /,}" exit:4 &
pid=$!
track "$pid"
wait_until 10 test -e "$d/ready"
read -r cpid owner <"$d/ready"
track "$cpid"
for sig in $sigs; do
	kill -"$sig" "$pid"
	wait_until 10 logged "$d" "$sig" ||
		not_ok "SIG$sig reached the command" "log: $(log_line "$d")"
done
settle
for sig in $sigs; do
	is "SIG$sig sent to dlock reaches the command exactly once" 1 \
		"$(count_of "$d" "$sig")"
done
is "the command still runs after all six (WINCH last)" 0 \
	"$(kill -0 "$cpid" 2>/dev/null && kill -0 "$pid" 2>/dev/null; echo $?)"
is "the lock is still held by the command after all six" "$owner" \
	"$(rcli r get 'dlock:{k}')"
touch "$d/stop"
wait_exit 10 "$pid"
is "dlock then exits with the command's own status" 4 "$WAIT_STATUS"
is "nothing else was delivered" "$sigs " "$(log_line "$d")"

# --- TERM to dlock's whole process group ----------------------------------

d=$(newdir group)
setsid "$DLOCK" run k -- "${counter[@]}" "$d" TERM exit:0 &
pid=$!
track "$pid"
wait_until 10 test -e "$d/ready"
read -r cpid owner <"$d/ready"
track "$cpid"
is "setsid made dlock its own process group leader" "$pid" \
	"$(stat_field "$pid" 5)"
cpgid=$(stat_field "$cpid" 5)
is "the command has a process group of its own, led by dlock's guard" \
	"dlock-guard $pid" "$(cat "/proc/$cpgid/comm") $(stat_field "$cpgid" 4)"
kill -TERM -- -"$pid"
wait_until 10 logged "$d" TERM
settle
touch "$d/stop"
wait_exit 10 "$pid"
is "dlock survives a TERM to its group and exits with the command's" 0 \
	"$WAIT_STATUS"
is "TERM to dlock's process group reaches the command exactly once" \
	"TERM " "$(log_line "$d")"
is "the lock is released" 0 "$(rcli r exists 'dlock:{k}')"

# --- A terminal: ^C once, ^Z stops dlock, fg resumes ----------------------

# term.py MODE DIR COMMAND...: runs COMMAND as a session leader on a new
# pseudo-terminal and types at it. Prints key=value lines.
cat >"$TMP/term.py" <<'EOF'
import os, pty, select, signal, sys, time
mode, d, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
output = bytearray()
def drain():
    while select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        output.extend(chunk)
def wait_for(cond, secs=10):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        drain()
        if cond():
            return True
        time.sleep(0.02)
    return False
def state(p):
    try:
        with open("/proc/%d/stat" % p) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
def fg():
    try:
        return os.tcgetpgrp(fd)
    except OSError:
        return -1
def say(k, v):
    print("%s=%s" % (k, v), flush=True)
def count(sig):
    try:
        with open(os.path.join(d, "log")) as f:
            return f.read().split().count(sig)
    except OSError:
        return 0
def finish():
    end = time.monotonic() + 10
    while time.monotonic() < end:
        drain()
        r, st = os.waitpid(pid, os.WNOHANG)
        if r == pid:
            return os.waitstatus_to_exitcode(st)
        time.sleep(0.02)
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "hang"
try:
    if not wait_for(lambda: os.path.exists(os.path.join(d, "ready"))):
        say("ready", "no")
        raise SystemExit
    cpid = int(open(os.path.join(d, "ready")).read().split()[0])
    say("fg_is_command", fg() == os.getpgid(cpid))
    if mode == "intr":
        os.write(fd, b"\x03")
        say("int_seen", wait_for(lambda: count("INT") >= 1))
        time.sleep(0.3)   # a second SIGINT would come right after
        say("int_count", count("INT"))
        open(os.path.join(d, "stop"), "w").close()
        say("status", finish())
    elif mode == "susp":
        os.write(fd, b"\x1a")
        say("dlock_stopped", wait_for(lambda: state(pid) == "T"))
        say("command_stopped", state(cpid) == "T")
        say("fg_is_dlock_while_stopped", fg() == pid)
        os.killpg(pid, signal.SIGCONT)
        say("command_continued", wait_for(lambda: state(cpid) not in
                                          ("T", "gone") and
                                          state(pid) not in ("T", "gone")))
        say("fg_is_command_again",
            wait_for(lambda: fg() == os.getpgid(cpid)))
        os.write(fd, b"\x03")
        say("int_after_fg", wait_for(lambda: count("INT") >= 1))
        time.sleep(0.3)
        say("int_count", count("INT"))
        open(os.path.join(d, "stop"), "w").close()
        say("status", finish())
finally:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    sys.stderr.write("pty output: %r\n" % bytes(output))
EOF

d=$(newdir intr)
out=$("$PYTHON" "$TMP/term.py" intr "$d" "$DLOCK" run k -- \
	"${counter[@]}" "$d" INT kill:INT 2>"$TMP/term.err")
case $out in *status=130*) ;; *) sed 's/^/# /' "$TMP/term.err" ;; esac
like "on a terminal, the command is the foreground group" "$out" \
	'fg_is_command=True'
like "^C reaches the command" "$out" 'int_seen=True'
is "^C reaches the command exactly once, not twice" "int_count=1" \
	"$(printf '%s\n' "$out" | grep '^int_count=')"
is "dlock exits 130 when the command then dies of SIGINT" "status=130" \
	"$(printf '%s\n' "$out" | grep '^status=')"
is "the lock is released after ^C" 0 "$(rcli r exists 'dlock:{k}')"

d=$(newdir susp)
out=$("$PYTHON" "$TMP/term.py" susp "$d" "$DLOCK" run k -- \
	"${counter[@]}" "$d" INT exit:0 2>"$TMP/term.err")
case $out in *status=0*) ;; *) sed 's/^/# /' "$TMP/term.err" ;; esac
like "^Z: dlock itself stops (state T), as a job should" "$out" \
	'dlock_stopped=True'
like "^Z: the command is stopped too" "$out" 'command_stopped=True'
like "^Z: the terminal goes back to dlock's group" "$out" \
	'fg_is_dlock_while_stopped=True'
like "SIGCONT to dlock's group continues the command" "$out" \
	'command_continued=True'
like "after fg the command has the terminal again" "$out" \
	'fg_is_command_again=True'
like "after fg ^C reaches the command" "$out" 'int_after_fg=True'
is "after fg ^C reaches it once" "int_count=1" \
	"$(printf '%s\n' "$out" | grep '^int_count=')"
is "after ^Z and fg the command finishes normally" "status=0" \
	"$(printf '%s\n' "$out" | grep '^status=')"
is "the lock is released after ^Z and fg" 0 "$(rcli r exists 'dlock:{k}')"

# --- SIGKILL of dlock stops the command -----------------------------------

# The command and a grandchild it left running in the background.
d=$(newdir kill)
"$DLOCK" run k -- sh -c "sleep 300 & echo \$\$ \$! > $d/pid.tmp && mv $d/pid.tmp $d/pid; wait" &
pid=$!
track "$pid"
wait_until 10 test -e "$d/pid"
read -r cpid gpid <"$d/pid"
track "$cpid"
track "$gpid"
is "the command and its grandchild run" 0 \
	"$(kill -0 "$cpid" 2>/dev/null && kill -0 "$gpid" 2>/dev/null; echo $?)"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
for p in "$cpid:the command" "$gpid:the command's background child"; do
	if wait_until 10 gone "${p%%:*}"; then
		ok "SIGKILL of dlock stops ${p#*:}"
	else
		not_ok "SIGKILL of dlock stops ${p#*:}" "still there: $(ps -o \
			pid,ppid,pgid,stat,args -p "${p%%:*}" | tail -n 1)"
	fi
done
rcli r flushall >/dev/null	# the killed holder's keys

# --- The guard is forked before the lock is taken -------------------------

# It leads the command's process group, which the command joins.
d=$(newdir group)
"$DLOCK" run k -- sh -c "pg=\$((\$(ps -o pgid= -p \$\$))); echo \$pg \$(cat /proc/\$pg/comm) > $d/group"
is "the command's group is led by dlock's guard" dlock-guard \
	"$(cut -d' ' -f2 "$d/group")"

# A holder keeps k while a second run waits, its guard already forked.
d=$(newdir preforked)
"$DLOCK" run k -- sh -c "touch $d/held; while [ ! -e $d/stop ]; do sleep 0.02; done" &
holder=$!
track "$holder"
wait_until 10 test -e "$d/held"
"$DLOCK" run -q -n k -- touch "$d/ran-n"
is "-n on a busy lock: 1" 1 $?
is "-n on a busy lock: the pre-forked guard ran nothing" no \
	"$(test -e "$d/ran-n" && echo yes || echo no)"
"$DLOCK" run -q -w 0.2 k -- touch "$d/ran-w"
is "-w running out: 1" 1 $?
is "-w running out: the pre-forked guard ran nothing" no \
	"$(test -e "$d/ran-w" && echo yes || echo no)"

# A waiter SIGKILLed in the queue: its guard goes too, nothing ever runs.
"$DLOCK" run -q k -- touch "$d/ran-killed" &
waiter=$!
track "$waiter"
guard_of_waiter() {
	guard=$(ps -o pid=,comm= --ppid "$waiter" | awk '$2 == "dlock-guard" { print $1 }')
	[ -n "$guard" ]
}
if wait_until 10 guard_of_waiter; then
	ok "a waiting dlock has its guard already"
else
	not_ok "a waiting dlock has its guard already" \
		"$(ps -o pid,ppid,pgid,args --ppid "$waiter")"
fi
track "$guard"
kill -KILL "$waiter"
wait "$waiter" 2>/dev/null
if wait_until 10 gone "$guard"; then
	ok "SIGKILL of a waiting dlock: its guard exits"
else
	not_ok "SIGKILL of a waiting dlock: its guard exits" \
		"$(ps -o pid,ppid,pgid,stat,args -p "$guard" | tail -n 1)"
fi
touch "$d/stop"
wait_exit 10 "$holder"
is "the holder ends normally" 0 "$WAIT_STATUS"
"$DLOCK" run k -- true
is "k is free for the next run" 0 $?
is "... and the killed waiter's command never ran" no \
	"$(test -e "$d/ran-killed" && echo yes || echo no)"
rcli r flushall >/dev/null

# --- A signal while waiting ends the wait ---------------------------------

# Holder: a counter that holds k until told to stop, and logs any TERM or
# INT meant for the waiter.
start_holder() {
	hd=$(newdir "holder-$1")
	"$DLOCK" run k -- "${counter[@]}" "$hd" TERM,INT,WINCH exit:0 &
	hpid=$!
	track "$hpid"
	wait_until 10 test -e "$hd/ready" || not_ok "the holder started"
	read -r hcpid howner <"$hd/ready"
	track "$hcpid"
}

# Clients blocked in a command (flag b) or subscribed (flag P): a waiter.
blocked_clients() {
	rcli r client list | grep -Ec ' flags=[A-Za-z]*[bP]'
}

waiting() {
	[ "$(blocked_clients)" -ge 1 ]
}

no_waiter() {
	[ "$(blocked_clients)" -eq 0 ]
}

for pair in TERM:143 INT:130; do
	sig=${pair%:*}
	want=${pair#*:}
	rcli r flushall >/dev/null
	start_holder "$sig"
	before=$(rcli r keys '*' | sort)
	rm -f "$TMP/marker"
	"$DLOCK" run k -- touch "$TMP/marker" &
	wpid=$!
	track "$wpid"
	wait_until 10 waiting
	is "the waiter is blocked on the server ($sig)" 0 $?
	kill -"$sig" "$wpid"
	wait_exit 10 "$wpid"
	is "SIG$sig while waiting: dlock exits $want" "$want" "$WAIT_STATUS"
	is "SIG$sig while waiting: the command was not run" no \
		"$(test -e "$TMP/marker" && echo yes || echo no)"
	is "SIG$sig while waiting: the holder still runs" 0 \
		"$(kill -0 "$hpid" 2>/dev/null && kill -0 "$hcpid" 2>/dev/null
		   echo $?)"
	is "SIG$sig while waiting: the holder still holds the lock" \
		"$howner" "$(rcli r get 'dlock:{k}')"
	wait_until 10 no_waiter
	is "SIG$sig while waiting: the waiter's connection is gone" 0 $?
	is "SIG$sig while waiting: nothing of the waiter is left in Redis" \
		"$before" "$(rcli r keys '*' | sort)"
	touch "$hd/stop"
	wait_exit 10 "$hpid"
	is "the holder ends normally ($sig)" 0 "$WAIT_STATUS"
	is "the holder got no signal ($sig)" "" "$(log_line "$hd")"
done

# WINCH is not a reason to stop waiting.
start_holder WINCH
rm -f "$TMP/marker"
"$DLOCK" run k -- touch "$TMP/marker" &
wpid=$!
track "$wpid"
wait_until 10 waiting
kill -WINCH "$wpid"
touch "$hd/stop"
wait_exit 10 "$hpid"
wait_exit 10 "$wpid"
is "SIGWINCH while waiting: the wait goes on and the command runs" \
	"0 yes" "$WAIT_STATUS $(test -e "$TMP/marker" && echo yes || echo no)"
is "... and the holder got no signal" "" "$(log_line "$hd")"

done_testing
