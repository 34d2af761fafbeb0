#!/usr/bin/env bash
# The safety rule (dlock(7), SAFETY): when dlock loses a lease the server
# still has, no other holder can start before the command's whole process
# group is dead, by default, even when the command ignores the --on-lost
# signal. The contender polls the server directly, past the holder's
# frozen network path, with the SET NX that every client of the key
# format uses.
. "$(dirname "$0")/../lib.sh"

unset DLOCK_OWNER DLOCK_PASSWORD REDISCLI_AUTH
start_redis r
start_proxy "$TMP/r.sock"
proxy=$PROXY_PID
P=$PROXY_URL

# A command that ignores TERM, and so do the sleeps it starts (an ignored
# signal stays ignored across fork and exec): only SIGKILL stops it.
# It writes its process group (led by dlock's guard) to $TMP/pgid.
stubborn="trap '' TERM; ps -o pgid= -p \$\$ > $TMP/pgid.tmp; mv $TMP/pgid.tmp $TMP/pgid; while :; do sleep 0.05; done"

# True while a process of group $1 is alive (a zombie is dead).
group_alive() {
	ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 }
		END { exit !f }'
}

# contend PGID: polls the server until a SET NX takes the lock key, then
# says whether group PGID was still alive at that moment ("overlap") or
# not ("clean"). Gives up after 40 s ("never").
contend() {
	local limit=$(($(date +%s%N) + 40000000000)) r
	while [ "$(date +%s%N)" -lt "$limit" ]; do
		r=$(redis-cli -s "$TMP/r.sock" set 'dlock:{k}' contender NX PX 60000)
		if [ "$r" = OK ]; then
			if group_alive "$1"; then echo overlap; else echo clean; fi
			redis-cli -s "$TMP/r.sock" del 'dlock:{k}' >/dev/null
			return
		fi
		sleep 0.01
	done
	echo never
}

# lose_lease [run options...]: a stubborn holder through the proxy, whose
# network path freezes once the command runs; sets PGID and HOLDER.
lose_lease() {
	rm -f "$TMP/pgid"
	"$DLOCK" --url "$P" --connect-timeout 500ms run --ttl 2s \
		--kill-after 4s "$@" k -- bash -c "$stubborn" 2>"$TMP/err" &
	HOLDER=$!
	track "$HOLDER"
	wait_until 10 test -s "$TMP/pgid" || not_ok "the command started"
	PGID=$(($(cat "$TMP/pgid")))
	kill -STOP "$proxy"
}

# 1. The default: the lock outlives the kill window.
lose_lease
is "a contender polling the server never gets in while the TERM-ignoring command lives" \
	clean "$(contend "$PGID")"
wait_exit 30 "$HOLDER"
is "... and the holder exits 75" 75 "$WAIT_STATUS"
like "... saying the lease was lost" "$(cat "$TMP/err")" "lost lock 'k'"
group_alive "$PGID" && not_ok "the command's group is dead" ||
	ok "the command's group is dead"
kill -CONT "$proxy"

# 2. --lock-delay 0 is the opt-out, and the check above can see an
# overlap: the contender gets in during the 4 s the command ignores TERM.
lose_lease --lock-delay 0
is "with --lock-delay 0 a contender gets in while the command still runs" \
	overlap "$(contend "$PGID")"
wait_exit 30 "$HOLDER"
is "... and the holder still exits 75" 75 "$WAIT_STATUS"
kill -CONT "$proxy"

# 3. The cost, read off the key: an abandoned lock is kept for the lease
# plus --kill-after plus a 2 s margin; --lock-delay sets it instead, and
# dlock acquire (no command to kill) keeps the lease alone.
pttl_of() {
	rm -f "$TMP/held"
	"$DLOCK" --url "unix://$TMP/r.sock" run "$@" k -- \
		sh -c "touch $TMP/held; sleep 30" &
	local pid=$!
	track "$pid"
	wait_until 10 test -e "$TMP/held"
	redis-cli -s "$TMP/r.sock" pttl 'dlock:{k}'
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	redis-cli -s "$TMP/r.sock" del 'dlock:{k}' >/dev/null
}
within() { [ "$2" -gt "$1" ] && [ "$2" -le "$3" ]; }
t=$(pttl_of --ttl 3s --kill-after 5s)
within 8000 "$t" 10000 && ok "by default the key lives lease + --kill-after + 2s (PTTL $t ms)" ||
	not_ok "the default lock-delay is --kill-after + 2s" "PTTL $t"
t=$(pttl_of --ttl 3s --kill-after 0)
within 3000 "$t" 5000 && ok "--kill-after 0: the key lives lease + 2s (PTTL $t ms)" ||
	not_ok "--kill-after 0 leaves the 2 s margin" "PTTL $t"
t=$(pttl_of --ttl 3s --lock-delay 1s)
within 3000 "$t" 4000 && ok "--lock-delay 1s replaces the default (PTTL $t ms)" ||
	not_ok "--lock-delay sets the delay" "PTTL $t"
tok=$("$DLOCK" --url "unix://$TMP/r.sock" acquire --ttl 3s k)
t=$(redis-cli -s "$TMP/r.sock" pttl 'dlock:{k}')
within 0 "$t" 3000 && ok "dlock acquire keeps the lease alone (PTTL $t ms)" ||
	not_ok "dlock acquire has no default lock-delay" "PTTL $t"
"$DLOCK" --url "unix://$TMP/r.sock" release k --owner "$tok"

# 4. A clean end frees the lock at once, whatever the delay.
"$DLOCK" --url "unix://$TMP/r.sock" run --ttl 3s k -- true
is "a clean release leaves no key behind" 0 \
	"$(redis-cli -s "$TMP/r.sock" exists 'dlock:{k}')"

done_testing
