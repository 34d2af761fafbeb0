#!/usr/bin/env bash
# Redis Cluster: three masters on private ports; slot routing from a plain
# URL to any node and from redis+cluster://, contention and wake-ups across
# nodes, list over every master, status and release --force, a slot moved
# while its lock is held, doctor.
. "$(dirname "$0")/../lib.sh"

# start_node NAME: a cluster-enabled server on a free port whose cluster
# bus port (port + 10000) is free too. Sets PORT_<NAME>.
start_node() {
	local name=$1 port
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 20000))
		redis-cli -p $((port + 10000)) ping >/dev/null 2>&1 && continue
		rm -f "$TMP/$name.log"
		redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP" \
			--save '' --appendonly no --dbfilename "$name.rdb" \
			--appendfilename "$name.aof" \
			--cluster-enabled yes --cluster-node-timeout 5000 \
			--cluster-config-file "$TMP/$name-nodes.conf" \
			--unixsocket "$TMP/$name.sock" --unixsocketperm 700 \
			--logfile "$TMP/$name.log" >/dev/null 2>&1 &
		local pid=$!
		if wait_until 10 redis_up "$TMP/$name.log" "$pid" &&
		    kill -0 "$pid"; then
			track "$pid"
			eval "PORT_$name=$port"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "Bail out! no free port pair for cluster node $name"
	exit 1
}

start_node a
start_node b
start_node c
PORTS="$PORT_a $PORT_b $PORT_c"
redis-cli --cluster create 127.0.0.1:"$PORT_a" 127.0.0.1:"$PORT_b" \
	127.0.0.1:"$PORT_c" --cluster-replicas 0 --cluster-yes \
	>"$TMP/create.log" 2>&1 ||
	{ echo "Bail out! cluster create: $(tail -n 3 "$TMP/create.log")"; exit 1; }

cluster_ok() {
	local p
	for p in $PORTS; do
		redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' ||
			return 1
	done
}
wait_until 60 cluster_ok ||
	{ echo "Bail out! the cluster did not reach cluster_state:ok"; exit 1; }
URL_A=redis://127.0.0.1:$PORT_a
URL_B=redis://127.0.0.1:$PORT_b
URL_C=redis://127.0.0.1:$PORT_c

# slot_port SLOT: the port of the master that owns SLOT, from each node's
# own line of CLUSTER NODES.
slot_port() {
	local p range
	for p in $PORTS; do
		for range in $(redis-cli -p "$p" cluster nodes |
			awk '/myself/ { for (i = 9; i <= NF; i++) print $i }'); do
			case $range in \[*) continue ;; esac
			if [ "$1" -ge "${range%-*}" ] && [ "$1" -le "${range#*-}" ]; then
				echo "$p"
				return
			fi
		done
	done
}

# key_port KEY: the port of the node that has KEY (the others say MOVED).
key_port() {
	local p
	for p in $PORTS; do
		[ "$(redis-cli -p "$p" exists "$1")" = 1 ] && echo "$p"
	done
}

name_port() {
	slot_port "$(redis-cli -p "$PORT_a" cluster keyslot "dlock:{$1}")"
}

# hold URL NAME [dlock options]: a holder that runs until $TMP/stop-NAME
# appears; its pid is in HOLDER once its command has started.
hold() {
	local url=$1 name=$2
	shift 2
	rm -f "$TMP/started-$name" "$TMP/stop-$name"
	"$DLOCK" --url "$url" run "$@" "$name" -- sh -c "touch $TMP/started-$name; while [ ! -e $TMP/stop-$name ]; do sleep 0.05; done" 2>"$TMP/holder-$name.err" &
	HOLDER=$!
	track "$HOLDER"
	wait_until 30 test -e "$TMP/started-$name" ||
		not_ok "holder of $name did not start" "$(cat "$TMP/holder-$name.err")"
}

# release_holder NAME PID: tells the holder to end, and waits for it.
release_holder() {
	touch "$TMP/stop-$1"
	wait_exit 30 "$2"
}

# --- a plain URL to one node reaches every master ------------------------------
declare -A OWNER=()
masters=""
for n in job1 job2 job3 job4 job5 job6 job7 job8 job9; do
	"$DLOCK" --url "$URL_A" run "$n" -- true 2>"$TMP/err"
	is "$n through node a: exit 0" 0 "$?"
	want=$(name_port "$n")
	is "$n: its keys are on the master of its slot only" "$want" \
		"$(key_port "dlock:{$n}:fence")"
	OWNER[$n]=$want
	masters="$masters$want"$'\n'
done
is "the names cover all three masters" 3 \
	"$(printf '%s' "$masters" | sort -u | grep -c .)"

# Names owned by a, b and c, for the tests below.
for n in "${!OWNER[@]}"; do
	case ${OWNER[$n]} in
	"$PORT_a") ON_A=$n ;;
	"$PORT_b") ON_B=$n ;;
	"$PORT_c") ON_C=$n ;;
	esac
done

fence_before=$(redis-cli -p "$PORT_c" get "dlock:{$ON_C}:fence")
"$DLOCK" --url "unix://$TMP/a.sock" run "$ON_C" -- sh -c 'echo "$DLOCK_TOKEN"' \
	>"$TMP/token" 2>"$TMP/err"
is "a unix:// URL to node a reaches master c: exit 0" 0 $?
is "... the token is the one counted on c" \
	"$(redis-cli -p "$PORT_c" get "dlock:{$ON_C}:fence")" "$(cat "$TMP/token")"
[ "$(cat "$TMP/token")" -gt "$fence_before" ] && ok "... and it went up" ||
	not_ok "the token did not go up" "$fence_before -> $(cat "$TMP/token")"

# --- contention and wake-ups across nodes -------------------------------------
hold "$URL_A" "$ON_C"
holder=$HOLDER
"$DLOCK" --url "$URL_B" run -n "$ON_C" -- touch "$TMP/ran" 2>"$TMP/err"
is "-n through node b while a holder took it through node a: exit 1" 1 $?
like "... naming the holder" "$(cat "$TMP/err")" \
	"lock '$ON_C' is held by .*pid $holder"
[ -e "$TMP/ran" ] && not_ok "-n ran its command" || ok "-n did not run its command"

blpop_on() {
	redis-cli -p "$1" client list | grep -q 'cmd=blpop'
}
"$DLOCK" --url "$URL_B" run -w 60 "$ON_C" -- touch "$TMP/woke" 2>/dev/null &
waiter=$!
track "$waiter"
wait_until 30 blpop_on "$PORT_c"
is "the waiter through node b blocks on the slot's master c" 0 $?
start=$(date +%s%N)
release_holder "$ON_C" "$holder"
is "the holder through node a exits 0" 0 "$WAIT_STATUS"
wait_exit 30 "$waiter"
is "the waiter is woken by the release and exits 0" 0 "$WAIT_STATUS"
echo "# hand-off across nodes: $(( ($(date +%s%N) - start) / 1000000 )) ms"
[ -e "$TMP/woke" ] && ok "the waiter ran its command" ||
	not_ok "the waiter did not run its command"

# --- redis+cluster:// ------------------------------------------------------------
dead=$(unused_port)
"$DLOCK" --url "redis+cluster://127.0.0.1:$dead,127.0.0.1:$PORT_b" \
	run "$ON_A" -- true 2>"$TMP/err"
is "redis+cluster:// with a dead first seed: exit 0" 0 $?
"$DLOCK" --url "redis+cluster://127.0.0.1:$dead" run "$ON_A" -- true \
	2>"$TMP/err"
is "redis+cluster:// with no live seed: exit 69" 69 $?
like "... saying which" "$(cat "$TMP/err")" "127.0.0.1:$dead"

# --- list, status and release --force across nodes ------------------------------
hold "$URL_A" "$ON_A"
ha=$HOLDER
hold "$URL_B" "$ON_B"
hb=$HOLDER
hold "$URL_C" "$ON_C" --ttl 3s
hc=$HOLDER
for url in "$URL_A" "$URL_B" "redis+cluster://127.0.0.1:$dead,127.0.0.1:$PORT_c"; do
	out=$("$DLOCK" --url "$url" list 2>&1)
	is "list through $url: all three held locks" "$(printf '%s\n' "$ON_A" "$ON_B" "$ON_C" | sort)" \
		"$(printf '%s\n' "$out" | awk 'NR > 1 { print $1 }')"
done
is "list --json through node a counts three" 3 \
	"$("$DLOCK" --url "$URL_A" list --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')"

out=$("$DLOCK" --url "$URL_A" status "$ON_C")
is "status through node a of a lock on c: exit 0" 0 $?
like "... held, by the holder" "$out" "held \(exclusive\)"
like "... by its pid" "$out" "pid $hc,"
"$DLOCK" --url "$URL_B" release --force "$ON_C" >"$TMP/out" 2>&1
is "release --force through node b of a lock on c: exit 0" 0 $?
like "... names the evicted holder" "$(cat "$TMP/out")" "evicted .*pid $hc,"
"$DLOCK" --url "$URL_A" status -q "$ON_C"
is "status afterwards: free (exit 1)" 1 $?
wait_exit 60 "$hc"
is "the evicted holder finds out at its next renewal (exit 75)" 75 "$WAIT_STATUS"
release_holder "$ON_A" "$ha"
release_holder "$ON_B" "$hb"

# --- a slot moves while its lock is held ------------------------------------
# move_slot SLOT SRC DST: what redis-cli --cluster reshard does, by hand.
move_slot() {
	local slot=$1 src=$2 dst=$3 sid did keys p
	sid=$(redis-cli -p "$src" cluster myid)
	did=$(redis-cli -p "$dst" cluster myid)
	redis-cli -p "$dst" cluster setslot "$slot" importing "$sid" >/dev/null
	redis-cli -p "$src" cluster setslot "$slot" migrating "$did" >/dev/null
	while keys=$(redis-cli -p "$src" cluster getkeysinslot "$slot" 100) &&
		[ -n "$keys" ]; do
		# shellcheck disable=SC2086 # one argument per key
		redis-cli -p "$src" migrate 127.0.0.1 "$dst" "" 0 5000 keys $keys >/dev/null
	done
}
finish_slot() {
	local slot=$1 dst=$2 did p
	did=$(redis-cli -p "$dst" cluster myid)
	for p in $PORTS; do
		redis-cli -p "$p" cluster setslot "$slot" node "$did" >/dev/null
	done
}
pttl() { redis-cli -p "$1" pttl "$2"; }
# renewed PORT KEY: waits until the key's time to live grows again.
renewed() {
	local before
	before=$(pttl "$1" "$2")
	wait_until 30 sh -c "[ \$(redis-cli -p $1 pttl '$2') -gt $before ]"
}
errors() {
	redis-cli -p "$1" info errorstats |
		sed -n 's/^errorstat_TRYAGAIN:count=\([0-9]*\).*/\1/p' | grep . || echo 0
}

n=$ON_A
slot=$(redis-cli -p "$PORT_a" cluster keyslot "dlock:{$n}")
hold "$URL_B" "$n" --ttl 3s
holder=$HOLDER
renewed "$PORT_a" "dlock:{$n}"
is "the holder renews on the slot's master a" 0 $?
move_slot "$slot" "$PORT_a" "$PORT_c"
finish_slot "$slot" "$PORT_c"
for i in 1 2 3; do
	renewed "$PORT_c" "dlock:{$n}"
	is "renewal $i after the move lands on the new master c" 0 $?
done
is "the lock key is on c alone" "$PORT_c" "$(key_port "dlock:{$n}")"

# While the slot migrates, the scripts' keys are split between the nodes:
# a request gets TRYAGAIN and retries until the move is done.
before=$(( $(errors "$PORT_c") + $(errors "$PORT_b") ))
move_slot "$slot" "$PORT_c" "$PORT_b"
"$DLOCK" --url "$URL_A" status "$n" >"$TMP/out" 2>&1 &
status_pid=$!
track "$status_pid"
wait_until 30 sh -c "[ \$(( \$(redis-cli -p $PORT_c info errorstats | sed -n 's/^errorstat_TRYAGAIN:count=\([0-9]*\).*/\1/p' | grep . || echo 0) + \$(redis-cli -p $PORT_b info errorstats | sed -n 's/^errorstat_TRYAGAIN:count=\([0-9]*\).*/\1/p' | grep . || echo 0) )) -ge $((before + 3)) ]"
is "requests during the migration get TRYAGAIN" 0 $?
kill -0 "$status_pid" 2>/dev/null && ok "status waits while the slot migrates" ||
	not_ok "status returned during the migration" "$(cat "$TMP/out")"
finish_slot "$slot" "$PORT_b"
wait_exit 30 "$status_pid"
is "... and finds the lock held once the move is done" 0 "$WAIT_STATUS"
renewed "$PORT_b" "dlock:{$n}"
is "the holder renews on master b after the second move" 0 $?
release_holder "$n" "$holder"
is "the holder kept its lock through both moves (exit 0, not 75)" 0 "$WAIT_STATUS"
is "its keys ended on the new master b" "$PORT_b" "$(key_port "dlock:{$n}:fence")"

# --- doctor --------------------------------------------------------------------
out=$("$DLOCK" --url "$URL_B" doctor 2>&1)
is "doctor on a cluster without persistence: exit 1" 1 $?
like "doctor: cluster_state and the masters" "$out" \
	"^ok    cluster: cluster_state:ok, 3 masters"
for p in "$PORT_a" "$PORT_c"; do
	like "doctor: checks master $p too" "$out" \
		"^warn  master: redis://127.0.0.1:$p: persistence: neither AOF"
done
like "doctor: the probe ran on the master of its slot" "$out" \
	"^ok    scripts: acquire, status, renew, release, leave, shared acquire and release ran"

# --- a malformed CLUSTER SLOTS is an error with a message ------------------------
FAKE=$(dirname "$0")/../fake_redis.py
bad_slots() {
	rm -f "$TMP/fake.sock"
	"$PYTHON" "$FAKE" "$TMP/fake.sock" "slots:$2" &
	local fake=$!
	track "$fake"
	wait_until 10 test -S "$TMP/fake.sock"
	"$DLOCK" --url "unix://$TMP/fake.sock" list 2>"$TMP/err"
	is "CLUSTER SLOTS $1: list exits 69" 69 $?
	like "... saying so" "$(cat "$TMP/err")" "malformed CLUSTER SLOTS reply from unix://.*: $3"
	kill "$fake"
}
bad_slots "not an array" ':1\r\n' "not an array"
bad_slots "a range not an array" '*1\r\n:5\r\n' "a range is not an array"
bad_slots "a slot past 16383" '*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n' \
	"a slot range out of 0-16383"
bad_slots "an inverted range" '*1\r\n*3\r\n:9\r\n:8\r\n*2\r\n$1\r\nh\r\n:1\r\n' \
	"a slot range out of 0-16383"
bad_slots "a master without a port" '*1\r\n*3\r\n:0\r\n:5\r\n*1\r\n$1\r\nh\r\n' \
	"a master is not \{host, port\}"
bad_slots "a port of 0" '*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:0\r\n' \
	"a master is not \{host, port\}"

done_testing
