#!/usr/bin/env bash
# A server restarted while a lock is held (issue 12). The holder's
# connection breaks at once, so it renews as soon as it can reconnect
# instead of at its next renewal tick (20 s into a 60 s lease here):
# without persistence it finds the lock gone and says the server restarted;
# with persistence it keeps the lock; a connection the server drops without
# a restart costs nothing; a user that may not run INFO still finds the
# lock gone at once.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Well under the first renewal tick of a 60 s lease (20 s), generous
# against a loaded machine.
BOUND=10

# holder_cmd TAG: writes its pid to $TMP/TAG.pid, exits 3 at once on TERM,
# and 0 once $TMP/TAG.go exists.
holder_cmd() {
	echo "trap 'exit 3' TERM; echo \$\$ > $TMP/$1.pid
	      until [ -e $TMP/$1.go ]; do sleep 0.05; done"
}

# pttl_below SERVER KEY MS: the key's time to live is under MS.
pttl_below() {
	local t
	t=$(rcli "$1" pttl "$2")
	[ -n "$t" ] && [ "$t" -ge 0 ] && [ "$t" -lt "$3" ]
}

# asked REDIS-CLI-ARGS...: the holder has asked the server who it is (its
# lease thread runs INFO once the lease starts, beside the command): its
# connection's last command is INFO until the first renewal. A server
# killed before that answered could not be named as restarted.
asked() {
	redis-cli "$@" client list 2>/dev/null | grep -q ' cmd=info '
}

# dead PIDFILE: the process it names has exited.
dead() {
	! kill -0 "$(cat "$1")" 2>/dev/null
}

# lost_at_once TITLE TAG URL CLI RESTART... : a holder of lock TAG on URL
# with a 60 s lease; RESTART (a command) restarts its server, which
# redis-cli reaches with the options in CLI; the holder must exit 75
# within BOUND seconds. Leaves the message in $TMP/TAG.err.
lost_at_once() {
	local title=$1 tag=$2 url=$3 pid start elapsed
	local -a cli
	read -ra cli <<<"$4"
	shift 4
	"$DLOCK" --url "$url" run --ttl 60s "$tag" -- \
		bash -c "$(holder_cmd "$tag")" 2>"$TMP/$tag.err" &
	pid=$!
	wait_until "$BOUND" test -s "$TMP/$tag.pid"
	wait_until "$BOUND" asked "${cli[@]}"
	start=$(now_ms)
	"$@"
	wait_exit "$BOUND" "$pid"
	elapsed=$(( $(now_ms) - start ))
	is "$title: the holder exits 75 (${elapsed} ms after the kill)" 75 \
		"$WAIT_STATUS"
	wait_until "$BOUND" dead "$TMP/$tag.pid" &&
		ok "$title: ... and its command is gone" ||
		not_ok "$title: its command still runs"
}

# 1. No persistence: the lock is gone, the run_id changed.
start_redis np
lost_at_once "restart without persistence" t1 "unix://$TMP/np.sock" \
	"-s $TMP/np.sock" restart_redis np
like "... saying that the server restarted and lost the lock" \
	"$(cat "$TMP/t1.err")" \
	"^dlock: lost lock 't1': the server restarted \(its run_id changed\) and no longer has it"

# 2. The same over TCP, on the same port.
start_redis_tcp tcp
# shellcheck disable=SC2154 # set by start_redis_tcp
lost_at_once "restart over TCP" t2 "redis://127.0.0.1:$PORT_tcp" \
	"-p $PORT_tcp" restart_redis_tcp tcp
like "... saying that the server restarted" "$(cat "$TMP/t2.err")" \
	"the server restarted \(its run_id changed\) and no longer has it"

# 3. Restarted, and another owner took the lock before the holder came
# back (the holder is stopped meanwhile): it says so.
"$DLOCK" --url "unix://$TMP/np.sock" run --ttl 60s t3 -- \
	bash -c "$(holder_cmd t3)" 2>"$TMP/t3.err" &
pid=$!
wait_until "$BOUND" test -s "$TMP/t3.pid"
wait_until "$BOUND" asked -s "$TMP/np.sock"
kill -STOP "$pid"
restart_redis np
rcli np set 'dlock:{t3}' someone-else px 60000 >/dev/null
kill -CONT "$pid"
wait_exit "$BOUND" "$pid"
is "restarted and taken over meanwhile: exit 75" 75 "$WAIT_STATUS"
like "... saying that another owner holds it" "$(cat "$TMP/t3.err")" \
	"lost lock 't3': the server restarted \(its run_id changed\) and another owner holds it now"
is "... and the other owner's lock is left alone" someone-else \
	"$(rcli np get 'dlock:{t3}')"

# 4. With persistence the key survives the restart: the holder renews on
# the new server at once, says so under --verbose, and keeps its lock.
AOF=(--appendonly yes --appendfsync always)
start_redis aof "${AOF[@]}"
"$DLOCK" --url "unix://$TMP/aof.sock" run --verbose --ttl 60s t4 -- \
	bash -c "$(holder_cmd t4)" 2>"$TMP/t4.err" &
pid=$!
wait_until "$BOUND" test -s "$TMP/t4.pid"
wait_until "$BOUND" asked -s "$TMP/aof.sock"
owner=$(rcli aof get 'dlock:{t4}')
full=$(rcli aof pttl 'dlock:{t4}')
# Let the time to live fall first, so that a renewal shows.
wait_until "$BOUND" pttl_below aof 'dlock:{t4}' $((full - 300))
before=$(rcli aof pttl 'dlock:{t4}')
restart_redis aof "${AOF[@]}"
if wait_until "$BOUND" grep -q "restarted" "$TMP/t4.err"; then
	ok "restart with persistence: --verbose says so"
else
	not_ok "restart with persistence: --verbose says nothing" \
		"$(cat "$TMP/t4.err")"
fi
like "... and that the lease goes on" "$(cat "$TMP/t4.err")" \
	"the server restarted \(its run_id changed\) and still has lock 't4'"
after=$(rcli aof pttl 'dlock:{t4}')
if [ "$after" -gt "$before" ]; then
	ok "... it renewed on the new server (time to live $before ms, then $after ms)"
else
	not_ok "no renewal on the new server" "pttl $before, then $after"
fi
is "... the lock is still the holder's" "$owner" "$(rcli aof get 'dlock:{t4}')"
kill -0 "$(cat "$TMP/t4.pid")" 2>/dev/null && ok "... its command still runs" ||
	not_ok "the command was stopped"
touch "$TMP/t4.go"
wait_exit "$BOUND" "$pid"
is "... and ends normally (exit 0)" 0 "$WAIT_STATUS"
unlike "... with no loss" "$(cat "$TMP/t4.err")" "lost lock"
is "... and the lock released" 0 "$(rcli aof exists 'dlock:{t4}')"

# 5. The server closes the holder's connection (CLIENT KILL), no restart:
# a reconnect and a renewal, no loss.
"$DLOCK" --url "unix://$TMP/np.sock" run --verbose --ttl 60s t5 -- \
	bash -c "$(holder_cmd t5)" 2>"$TMP/t5.err" &
pid=$!
wait_until "$BOUND" test -s "$TMP/t5.pid"
full=$(rcli np pttl 'dlock:{t5}')
wait_until "$BOUND" pttl_below np 'dlock:{t5}' $((full - 300))
before=$(rcli np pttl 'dlock:{t5}')
killed=$(rcli np client kill type normal skipme yes)
if [ "${killed:-0}" -ge 1 ] &&
    wait_until "$BOUND" grep -q "on a new connection" "$TMP/t5.err"; then
	ok "CLIENT KILL of the holder's connection: it reconnects at once"
else
	not_ok "no reconnect after CLIENT KILL ($killed killed)" \
		"$(cat "$TMP/t5.err")"
fi
after=$(rcli np pttl 'dlock:{t5}')
[ "$after" -gt "$before" ] &&
	ok "... and renews (time to live $before ms, then $after ms)" ||
	not_ok "no renewal after CLIENT KILL" "pttl $before, then $after"
unlike "... without calling it a restart" "$(cat "$TMP/t5.err")" "restarted"
touch "$TMP/t5.go"
wait_exit "$BOUND" "$pid"
is "... and the command ends normally (exit 0)" 0 "$WAIT_STATUS"
unlike "... with no loss" "$(cat "$TMP/t5.err")" "lost lock"

# 6. A user that may not run INFO: no run_id to compare, but the lock is
# found gone as soon as the holder reconnects.
NOINFO=(--user default on nopass '~*' '&*' '+@all' '-info')
start_redis acl "${NOINFO[@]}"
lost_at_once "restart, INFO refused by the ACL" t6 "unix://$TMP/acl.sock" \
	"-s $TMP/acl.sock" restart_redis acl "${NOINFO[@]}"
like "... the server no longer has it" "$(cat "$TMP/t6.err")" \
	"lost lock 't6': the server no longer has it"
unlike "... no run_id claimed" "$(cat "$TMP/t6.err")" "run_id"

done_testing
