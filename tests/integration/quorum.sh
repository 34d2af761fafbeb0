#!/usr/bin/env bash
# Quorum mode (Redlock): three and five independent redis-servers, some of
# them frozen (SIGSTOP) or killed while dlock takes, renews and releases.
. "$(dirname "$0")/../lib.sh"

for n in 1 2 3 4 5; do
	start_redis "q$n"
done
U3=(--url "unix://$TMP/q1.sock" --url "unix://$TMP/q2.sock"
	--url "unix://$TMP/q3.sock")
U5=("${U3[@]}" --url "unix://$TMP/q4.sock" --url "unix://$TMP/q5.sock")
export DLOCK_CONFIG=/dev/null

pid_of() {
	eval "echo \$REDIS_PID_$1"
}
freeze() {
	local n
	for n in "$@"; do kill -STOP "$(pid_of "$n")"; done
}
thaw() {
	local n
	for n in "$@"; do kill -CONT "$(pid_of "$n")"; done
}
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}
# keys NODE NAME: the keys of lock NAME on node NODE but its fence counter,
# which outlives every holder by design.
keys_left() {
	rcli "$1" keys "dlock:{$2}*" | grep -v ':fence$' | sort | tr '\n' ' '
}

# hold NAME URLS...: a background holder whose command runs until
# $TMP/stop-NAME exists; HOLDER is its pid.
hold() {
	local name=$1
	shift
	rm -f "$TMP/started-$name" "$TMP/stop-$name"
	"$DLOCK" "$@" run "$name" -- sh -c "touch $TMP/started-$name;
		while [ ! -e $TMP/stop-$name ]; do sleep 0.05; done" &
	HOLDER=$!
	track "$HOLDER"
	wait_until 20 test -e "$TMP/started-$name" || not_ok "holder of $name did not start"
}
unhold() {
	touch "$TMP/stop-$1"
	wait_exit 20 "$HOLDER"
}

"$DLOCK" --url "unix://$TMP/q1.sock" --url "unix://$TMP/q2.sock" run k -- true 2>"$TMP/err"
is "two servers are refused as a usage error" 64 $?
like "... with the reason" "$(cat "$TMP/err")" "majority of 2 tolerates no failure"
"$DLOCK" "${U3[@]}" --url "unix://$TMP/q1.sock" run k -- true 2>"$TMP/err"
is "the same server twice is refused" 64 $?
"$DLOCK" "${U3[@]}" run -s k -- true 2>"$TMP/err"
is "-s on a quorum is refused with 64" 64 $?
like "... saying why" "$(cat "$TMP/err")" "quorum backend cannot do shared locks"
"$DLOCK" "${U3[@]}" run --limit 2 k -- true 2>/dev/null
is "--limit on a quorum is refused with 64" 64 $?

DLOCK_URL="unix://$TMP/q1.sock,unix://$TMP/q2.sock,unix://$TMP/q3.sock" \
	"$DLOCK" run k -- sh -c 'echo "$DLOCK_TOKEN"' >"$TMP/out"
is "a comma list in DLOCK_URL is a quorum" 0 $?
like "... and the command gets a token" "$(cat "$TMP/out")" '^[0-9]+$'

# contend URLS...: 6 waiters, 4 sections each, counting overlaps.
contend() {
	local i pids=()
	rm -f "$TMP/overlaps" "$TMP/sections"
	rmdir "$TMP/in" 2>/dev/null
	for i in 1 2 3 4 5 6; do
		(
			for _ in 1 2 3 4; do
				"$DLOCK" "$@" run -w 60 c -- sh -c "
					mkdir $TMP/in 2>/dev/null || echo x >>$TMP/overlaps
					echo s >>$TMP/sections; sleep 0.01
					rmdir $TMP/in 2>/dev/null" 2>>"$TMP/contend.err" ||
					echo "fail $?" >>"$TMP/overlaps"
			done
		) &
		pids+=($!)
		track $!
	done
	for i in "${pids[@]}"; do
		wait_exit 120 "$i"
	done
	echo "$(wc -l <"$TMP/sections" 2>/dev/null || echo 0) $(cat "$TMP/overlaps" 2>/dev/null | wc -l)"
}

for set in 3 5; do
	if [ "$set" = 3 ]; then urls=("${U3[@]}"); else urls=("${U5[@]}"); fi
	hold k "${urls[@]}"
	"$DLOCK" "${urls[@]}" run -n k -- touch "$TMP/ran" 2>"$TMP/err"
	is "$set nodes: -n exits 1 while held" 1 $?
	like "$set nodes: -n says who holds it" "$(cat "$TMP/err")" "held by .*pid $HOLDER"
	[ -e "$TMP/ran" ] && not_ok "$set nodes: -n ran the command" ||
		ok "$set nodes: -n did not run the command"
	"$DLOCK" "${urls[@]}" status k >"$TMP/st"
	like "$set nodes: status shows the holder" "$(cat "$TMP/st")" "held \(exclusive\)"
	like "$set nodes: list shows it" "$("$DLOCK" "${urls[@]}" list)" "^k +exclusive"
	unhold k
	is "$set nodes: the holder ends well" 0 "$WAIT_STATUS"
	is "$set nodes: 24 sections under contention, no overlap" "24 0" \
		"$(contend "${urls[@]}")"
done

# Waiters queue on every node and are woken in turn: FIFO when the nodes
# agree (each waiter is queued everywhere before the next arrives).
queued_everywhere() {
	local n
	for n in q1 q2 q3; do
		[ "$(rcli "$n" llen 'dlock:{ff}:queue')" = "$1" ] || return 1
	done
}
hold ff "${U3[@]}"
: >"$TMP/order"
pids=()
for w in A B C; do
	"$DLOCK" "${U3[@]}" run -q -w 60 ff -- sh -c "echo $w >>$TMP/order" &
	pids+=($!)
	track $!
	wait_until 20 queued_everywhere ${#pids[@]} || not_ok "waiter $w did not queue on every node"
done
is "waiters are queued on every node, not polling" "3 3 3" \
	"$(rcli q1 hlen 'dlock:{ff}:waiters') $(rcli q2 hlen 'dlock:{ff}:waiters') $(rcli q3 hlen 'dlock:{ff}:waiters')"
unhold ff
for p in "${pids[@]}"; do
	wait_exit 30 "$p"
done
is "the waiters run in arrival order" "A B C" "$(tr '\n' ' ' <"$TMP/order" | sed 's/ $//')"
is "... and leave no queue behind" "0 0 0" \
	"$(rcli q1 exists 'dlock:{ff}:queue') $(rcli q2 exists 'dlock:{ff}:queue') $(rcli q3 exists 'dlock:{ff}:queue')"

# A node that lost the key while we hold the lock gets it back at the next
# renewal, since a majority still has it ours.
rm -f "$TMP/started-rt" "$TMP/stop-rt"
"$DLOCK" "${U3[@]}" run --ttl 3s rt -- sh -c "touch $TMP/started-rt;
	while [ ! -e $TMP/stop-rt ]; do sleep 0.05; done" &
HOLDER=$!
track "$HOLDER"
wait_until 20 test -e "$TMP/started-rt" || not_ok "holder of rt did not start"
rcli q1 del 'dlock:{rt}' >/dev/null
wait_until 20 sh -c "[ \"\$(redis-cli -s $TMP/q1.sock exists 'dlock:{rt}')\" = 1 ]"
is "a node that lost the key is given it again" 1 "$(rcli q1 exists 'dlock:{rt}')"
is "... with our owner token" "$(rcli q2 get 'dlock:{rt}')" "$(rcli q1 get 'dlock:{rt}')"
unhold rt
is "... and the holder ends well" 0 "$WAIT_STATUS"

# A key set by hand on one node of three is a minority, not a lock.
rcli q1 set 'dlock:{m}' someone PX 60000 >/dev/null
"$DLOCK" "${U3[@]}" run -n m -- true
is "a minority held elsewhere is not a lock" 0 $?
like "status: a minority is nobody's lock" \
	"$("$DLOCK" "${U3[@]}" status m)" "^m: free"
rcli q2 set 'dlock:{m}' someone PX 60000 >/dev/null
"$DLOCK" "${U3[@]}" run -n m -- true 2>/dev/null
is "a majority held elsewhere is busy" 1 $?
is "a failed take leaves no keys behind" "||" \
	"$(keys_left q3 m)|$(rcli q1 keys 'dlock:{m}:holder*')|$(rcli q2 keys 'dlock:{m}:holder*')"
rcli q1 del 'dlock:{m}' >/dev/null
rcli q2 del 'dlock:{m}' >/dev/null

# One node frozen, then one killed: still works.
freeze q3
"$DLOCK" "${U3[@]}" run --ttl 2s k -- true 2>"$TMP/err"
is "one frozen node of three: still works" 0 $?
"$DLOCK" "${U3[@]}" run --ttl 2s k -- sleep 5 2>"$TMP/err"
is "a 2 s lease outlives 5 s of work with one node frozen" 0 $?
thaw q3

# Two of three frozen: no majority, 69 within a few per-node deadlines
# (200 ms each for a 2 s lease), and the message names the nodes.
freeze q2 q3
start=$(date +%s%N)
"$DLOCK" "${U3[@]}" run -n --ttl 2s k -- true 2>"$TMP/err"
status=$?
took=$(ms_since "$start")
is "two of three frozen: 69" 69 "$status"
[ "$took" -lt 3000 ] && ok "... promptly ($took ms)" || not_ok "... too slowly" "$took ms"
like "... naming the nodes that failed" "$(cat "$TMP/err")" \
	"no majority .*q2.sock did not answer.*q3.sock did not answer"
thaw q2 q3

# Losing the majority while holding: 75 within the local deadline.
rm -f "$TMP/started"
"$DLOCK" "${U3[@]}" run --ttl 2s --kill-after 1s k -- sh -c "touch $TMP/started; sleep 30" 2>"$TMP/err" &
pid=$!
track "$pid"
wait_until 20 test -e "$TMP/started"
start=$(date +%s%N)
freeze q1 q2
wait_exit 30 "$pid"
took=$(ms_since "$start")
thaw q1 q2
is "losing the majority while holding: 75" 75 "$WAIT_STATUS"
[ "$took" -lt 4000 ] && ok "... within the local deadline ($took ms)" ||
	not_ok "... too late" "$took ms"
like "... and says why" "$(cat "$TMP/err")" "lost lock 'k'.*no majority"

# Tokens strictly increase while the granting majority changes. q1's
# counter starts far ahead, so that a token not written back to a
# majority would show: the next majority without q1 would count lower.
rcli q1 set 'dlock:{f}:fence' 9000000000000000 >/dev/null
rcli q2 set 'dlock:{f}:fence' 1 >/dev/null
rcli q3 set 'dlock:{f}:fence' 1 >/dev/null
prev=0
increasing=yes
for round in 1 2; do
	for n in q3 q1 q2; do
		freeze "$n"
		tok=$("$DLOCK" "${U3[@]}" run --ttl 2s f -- sh -c 'echo "$DLOCK_TOKEN"')
		thaw "$n"
		[ -n "$tok" ] && [ "$tok" -gt "$prev" ] || increasing="no: $prev then '$tok' (round $round, $n frozen)"
		prev=$tok
	done
done
is "tokens strictly increase across a rotation of frozen nodes" yes "$increasing"

# release --force everywhere.
owner=$("$DLOCK" "${U3[@]}" acquire --ttl 30s r)
"$DLOCK" "${U3[@]}" release r --force >/dev/null
is "release --force succeeds" 0 $?
is "... and removes the lock from every node" "|||" \
	"$(keys_left q1 r)|$(keys_left q2 r)|$(keys_left q3 r)|"
"$DLOCK" "${U3[@]}" release r --owner "$owner" 2>/dev/null
is "... after which its owner's release says it was lost" 75 $?

# A killed node: five nodes with one gone still take and release.
{
	kill -9 "$(pid_of q5)"
	wait "$(pid_of q5)"
} 2>/dev/null
"$DLOCK" "${U5[@]}" run k -- true 2>"$TMP/err"
is "one killed node of five: still works" 0 $?
# doctor checks each node against the others.
start_redis_tcp da --appendonly yes --appendfsync always
start_redis_tcp db --replicaof 127.0.0.1 "$PORT_da"
wait_until 30 sh -c "redis-cli -p $PORT_db info replication | grep -q master_link_status:up"
"$DLOCK" "${U3[@]}" doctor >"$TMP/doc" 2>&1
is "doctor: nodes without persistence: exit 1" 1 $?
like "doctor: quorum nodes are told independent" "$(cat "$TMP/doc")" \
	"^ok +quorum: independent of the 2 other nodes"
like "doctor: a node without appendfsync always is unsafe" "$(cat "$TMP/doc")" \
	"^warn +quorum fsync: AOF is off"
like "doctor: clocks are compared" "$(cat "$TMP/doc")" "^ok +quorum clock: [-+][0-9]+ ms against"
"$DLOCK" --url "redis://127.0.0.1:$PORT_da" --url "redis://127.0.0.1:$PORT_db" \
	--url "unix://$TMP/q1.sock" --url "redis://localhost:$PORT_da" doctor >"$TMP/doc" 2>&1
is "doctor: an unsafe quorum fails" 1 $?
like "doctor: the same server twice is found by run_id" "$(cat "$TMP/doc")" \
	"^fail +quorum: the same server as redis://localhost:$PORT_da"
like "doctor: replicas of one another are found" "$(cat "$TMP/doc")" \
	"^fail +quorum: a replica of, or replicated from, redis://127.0.0.1:$PORT_da"
like "doctor: AOF with appendfsync always is what fencing needs" "$(cat "$TMP/doc")" \
	"^ok +quorum fsync: appendonly yes, appendfsync always"
done_testing
