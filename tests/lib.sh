# Sourced by every integration test: a small TAP harness, and throwaway
# redis-servers on unix sockets (or private TCP ports) in a temp dir.
# shellcheck shell=bash
set -u

: "${DLOCK:?set DLOCK to the dlock binary}"
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlock-$TEST_NAME.XXXXXX")
T_PASS=0
T_FAIL=0
T_NUM=0
declare -a T_PIDS=()

# The system's interpreter, not a user's shim: a pyenv shim costs a fork of
# bash and pyenv on every start, seconds on a loaded machine.
if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=$(command -v python3)
fi

cleanup() {
	local pid
	for pid in "${T_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# Remembers a background process for cleanup; prints nothing.
track() {
	T_PIDS+=("$1")
}

ok() {
	T_NUM=$((T_NUM + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_NUM - $TEST_NAME: $1"
}

not_ok() {
	T_NUM=$((T_NUM + 1))
	T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_NUM - $TEST_NAME: $1"
	shift
	local line
	for line in "$@"; do
		echo "#   $line"
	done
}

# is DESCRIPTION EXPECTED ACTUAL
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: $2" "got:      $3"
	fi
}

# like DESCRIPTION TEXT PATTERN (grep -E)
like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1" "expected to match: $3" "got: $2"
	fi
}

# unlike DESCRIPTION TEXT PATTERN
unlike() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		not_ok "$1" "expected not to match: $3" "got: $2"
	else
		ok "$1"
	fi
}

# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds; a generous
# bound that only catches hangs. Returns 1 on time-out.
wait_until() {
	local limit=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$limit" ] || return 1
		sleep 0.02
	done
}

# wait_exit SECONDS PID: waits for a background job, killing it on a hang.
# Sets WAIT_STATUS to its exit status (or 999 on a hang).
wait_exit() {
	local limit=$(($(date +%s%N) + $1 * 1000000000))
	while kill -0 "$2" 2>/dev/null; do
		if [ "$(date +%s%N)" -ge "$limit" ]; then
			kill -9 "$2" 2>/dev/null
			wait "$2" 2>/dev/null
			WAIT_STATUS=999
			return 1
		fi
		sleep 0.02
	done
	wait "$2"
	# shellcheck disable=SC2034 # read by the test files
	WAIT_STATUS=$?
}

# start_redis NAME [redis-server options...]: a server on a unix socket.
# Sets REDIS_SOCK_<NAME> and prints nothing; the URL is unix://$TMP/NAME.sock
start_redis() {
	local name=$1
	shift
	redis-server --port 0 --unixsocket "$TMP/$name.sock" \
		--unixsocketperm 700 --dir "$TMP" --save '' --appendonly no \
		--dbfilename "$name.rdb" --appendfilename "$name.aof" \
		--logfile "$TMP/$name.log" "$@" >/dev/null 2>&1 &
	local pid=$!
	track "$pid"
	eval "REDIS_PID_$name=$pid"
	if ! wait_until 10 pong -s "$TMP/$name.sock"; then
		echo "Bail out! redis-server $name did not start" \
			"($(tail -n 3 "$TMP/$name.log" 2>/dev/null))"
		exit 1
	fi
}

# start_redis_tcp NAME [options...]: a server on a free loopback port.
# Sets PORT_<NAME>.
start_redis_tcp() {
	local name=$1 port
	shift
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		rm -f "$TMP/$name.log"
		redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP" \
			--save '' --appendonly no --dbfilename "$name.rdb" \
			--appendfilename "$name.aof" \
			--logfile "$TMP/$name.log" "$@" >/dev/null 2>&1 &
		local pid=$!
		if wait_until 10 redis_up "$TMP/$name.log" "$pid" &&
		    kill -0 "$pid" 2>/dev/null; then
			track "$pid"
			eval "PORT_$name=$port REDIS_PID_$name=$pid"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "Bail out! no free port for redis-server $name"
	exit 1
}

# restart_redis NAME [options...]: kills server NAME with -9, as a crash
# would, and starts a new one on the same unix socket; give the options of
# start_redis again. The new server has a new run_id.
restart_redis() {
	local name=$1 pid
	shift
	eval "pid=\$REDIS_PID_$name"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	start_redis "$name" "$@"
}

# restart_redis_tcp NAME [options...]: the same for a start_redis_tcp server,
# on the same port.
restart_redis_tcp() {
	local name=$1 pid port
	shift
	eval "pid=\$REDIS_PID_$name port=\$PORT_$name"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	mv -f "$TMP/$name.log" "$TMP/$name.log.old" 2>/dev/null
	redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP" \
		--save '' --appendonly no --dbfilename "$name.rdb" \
		--appendfilename "$name.aof" \
		--logfile "$TMP/$name.log" "$@" >/dev/null 2>&1 &
	pid=$!
	track "$pid"
	eval "REDIS_PID_$name=$pid"
	if ! wait_until 10 redis_up "$TMP/$name.log" "$pid" ||
	    ! kill -0 "$pid" 2>/dev/null; then
		echo "Bail out! redis-server $name did not start again on" \
			"port $port ($(tail -n 3 "$TMP/$name.log" 2>/dev/null))"
		exit 1
	fi
}

# redis_up LOG PID: the server of PID has logged that it listens, which it
# does once its port is bound and its data loaded (a PING could reach
# another test's server on the same port); true too once PID has died, to
# stop waiting: the caller checks which.
redis_up() {
	kill -0 "$2" 2>/dev/null || return 0	# died: stop waiting
	grep -qs "Ready to accept connections" "$1"
}

# pong ADDRESS-OPTIONS...: the server answers PING, and not with LOADING
# (redis-cli exits 0 on that reply too); a NOAUTH answer counts as up.
pong() {
	local r
	r=$(redis-cli "$@" ping 2>/dev/null) || return 1
	case $r in LOADING*) return 1 ;; esac
}

# rcli NAME ARGS...: redis-cli against server NAME's socket.
rcli() {
	local name=$1
	shift
	redis-cli -s "$TMP/$name.sock" "$@"
}

# A free TCP port with nothing listening on it.
unused_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 30000))
		redis-cli -p "$port" ping >/dev/null 2>&1 || break
	done
	echo "$port"
}

# silent_server: a loopback listener that accepts connections and never
# says a word; sets SILENT_PORT.
silent_server() {
	"$PYTHON" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$TMP/silent.port" &
	track $!
	wait_until 10 test -s "$TMP/silent.port"
	# shellcheck disable=SC2034 # read by the test files
	SILENT_PORT=$(cat "$TMP/silent.port")
}

# start_proxy TARGET: tests/proxy.py in front of a unix socket or
# host:port; SIGSTOP to PROXY_PID freezes the network path. Sets
# PROXY_PID and PROXY_URL (redis:// to the proxy).
start_proxy() {
	"$PYTHON" "$(dirname "${BASH_SOURCE[0]}")/proxy.py" "$1" \
		>"$TMP/proxy.port" &
	PROXY_PID=$!
	track "$PROXY_PID"
	if ! wait_until 10 test -s "$TMP/proxy.port"; then
		echo "Bail out! tests/proxy.py did not start"
		exit 1
	fi
	# shellcheck disable=SC2034 # read by the test files
	PROXY_URL="redis://127.0.0.1:$(cat "$TMP/proxy.port")"
}

# ---- etcd (tests skip without /usr/bin/etcd: it is optional) -------------

# have_etcd: etcd and etcdctl are installed (Debian's etcd-server and
# etcd-client).
have_etcd() {
	[ -x /usr/bin/etcd ] && command -v etcdctl >/dev/null 2>&1
}

# etcd_up LOG PID: the etcd of PID logged that it serves clients, which it
# does once it has joined its cluster; true too once PID has died, to stop
# waiting: the caller checks which.
etcd_up() {
	kill -0 "$2" 2>/dev/null || return 0
	grep -qs "ready to serve client requests" "$1"
}

# etcd_member NAME CPORT PPORT CLUSTER STATE [etcd options...]: starts
# member NAME of CLUSTER (name=peer-url,...) in the background, its data
# in $TMP/NAME.etcd, its log in $TMP/NAME.etcd.log (appended to, so that
# a restart keeps the story); sets ETCD_PID_<NAME>. The client URLs are
# https when ETCD_SCHEME=https (give the --cert-file options then).
etcd_member() {
	local name=$1 cport=$2 pport=$3 cluster=$4 state=$5 pid
	shift 5
	etcd --name "$name" --data-dir "$TMP/$name.etcd" \
		--listen-client-urls "${ETCD_SCHEME:-http}://127.0.0.1:$cport" \
		--advertise-client-urls "${ETCD_SCHEME:-http}://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "dlock-$TEST_NAME-$$" \
		"$@" >>"$TMP/$name.etcd.log" 2>&1 &
	pid=$!
	eval "ETCD_PID_$name=$pid ETCD_CPORT_$name=$cport ETCD_PPORT_$name=$pport"
}

# start_etcd NAME [etcd options...]: a one-member etcd on free loopback
# ports. Sets ETCD_PID_<NAME>, ETCD_CPORT_<NAME> and ETCD_URL_<NAME>
# (etcd://127.0.0.1:PORT, or etcds:// with ETCD_SCHEME=https).
start_etcd() {
	local name=$1 cport pport pid scheme
	shift
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		cport=$((20000 + RANDOM % 30000))
		pport=$((20000 + RANDOM % 30000))
		rm -rf "$TMP/$name.etcd" "$TMP/$name.etcd.log"
		etcd_member "$name" "$cport" "$pport" \
			"$name=http://127.0.0.1:$pport" new "$@"
		eval "pid=\$ETCD_PID_$name"
		if wait_until 30 etcd_up "$TMP/$name.etcd.log" "$pid" &&
		    kill -0 "$pid" 2>/dev/null; then
			track "$pid"
			scheme=etcd
			[ "${ETCD_SCHEME:-http}" = http ] || scheme=etcds
			eval "ETCD_URL_$name=$scheme://127.0.0.1:$cport"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "Bail out! etcd $name did not start" \
		"($(tail -n 3 "$TMP/$name.etcd.log" 2>/dev/null))"
	exit 1
}

# start_etcd_cluster NAME N: members NAME1..NAMEN of one cluster, started
# together. Sets ETCD_CLUSTER_URL (etcd://h:p,h:p,...), ETCD_ENDPOINTS
# (h:p,h:p,... for etcdctl) and, for each member, what etcd_member sets.
start_etcd_cluster() {
	local name=$1 n=$2 i cluster members pid up
	for _ in 1 2 3 4 5; do
		cluster='' members=''
		for i in $(seq "$n"); do
			eval "ETCD_CPORT_$name$i=$((20000 + RANDOM % 30000))"
			eval "ETCD_PPORT_$name$i=$((20000 + RANDOM % 30000))"
			eval "cluster=\$cluster\${cluster:+,}$name$i=http://127.0.0.1:\$ETCD_PPORT_$name$i"
		done
		for i in $(seq "$n"); do
			rm -rf "$TMP/$name$i.etcd" "$TMP/$name$i.etcd.log"
			eval "etcd_member $name$i \$ETCD_CPORT_$name$i \$ETCD_PPORT_$name$i \"\$cluster\" new"
			eval "members=\"\$members \$ETCD_PID_$name$i\""
		done
		up=1
		for i in $(seq "$n"); do
			eval "pid=\$ETCD_PID_$name$i"
			if ! wait_until 60 etcd_up "$TMP/$name$i.etcd.log" "$pid" ||
			    ! kill -0 "$pid" 2>/dev/null; then
				up=
				break
			fi
		done
		if [ -n "$up" ]; then
			ETCD_ENDPOINTS=
			for i in $(seq "$n"); do
				eval "ETCD_ENDPOINTS=\$ETCD_ENDPOINTS\${ETCD_ENDPOINTS:+,}127.0.0.1:\$ETCD_CPORT_$name$i"
				eval "track \$ETCD_PID_$name$i"
			done
			# shellcheck disable=SC2034 # read by the test files
			ETCD_CLUSTER_URL="etcd://$ETCD_ENDPOINTS"
			# shellcheck disable=SC2034 # read by restart_etcd_member
			ETCD_CLUSTER="$cluster"
			return 0
		fi
		# shellcheck disable=SC2086 # a list of pids
		kill -9 $members 2>/dev/null
		# shellcheck disable=SC2086
		wait $members 2>/dev/null
	done
	echo "Bail out! the etcd cluster $name did not start"
	exit 1
}

# restart_etcd_member NAME: kills member NAME of a start_etcd_cluster
# cluster with -9, as a crash would, and starts it again on its data;
# does not wait for it to rejoin.
restart_etcd_member() {
	local name=$1 pid
	eval "pid=\$ETCD_PID_$name"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "etcd_member $name \$ETCD_CPORT_$name \$ETCD_PPORT_$name \"\$ETCD_CLUSTER\" existing"
	eval "track \$ETCD_PID_$name"
}

# ectl NAME ARGS...: etcdctl (API 3) against etcd NAME, or against the
# endpoints of a cluster when NAME is "cluster".
ectl() {
	local name=$1 ep
	shift
	if [ "$name" = cluster ]; then
		ep=$ETCD_ENDPOINTS
	else
		eval "ep=127.0.0.1:\$ETCD_CPORT_$name"
	fi
	ETCDCTL_API=3 etcdctl --endpoints "$ep" --command-timeout 5s "$@"
}

# etcd_leader NAME N [DOWN]: prints the member (NAME1..NAMEN) that is the
# leader, as the members that answer say (all but member DOWN, which is
# not asked: a dead one costs the 2 s time-out); fails when none does.
etcd_leader() {
	local name=$1 n=$2 down=${3:-} i leader ep=''
	for i in $(seq "$n"); do
		[ "$name$i" = "$down" ] && continue
		eval "ep=\$ep\${ep:+,}127.0.0.1:\$ETCD_CPORT_$name$i"
	done
	leader=$(ETCDCTL_API=3 etcdctl --endpoints "$ep" \
		--command-timeout 2s endpoint status -w json 2>/dev/null |
		"$PYTHON" -c '
import json, sys
for s in json.load(sys.stdin):
    h = s["Status"]["header"]
    if s["Status"]["leader"] == h["member_id"]:
        print(s["Endpoint"])
' 2>/dev/null | head -n 1)
	[ -n "$leader" ] || return 1
	for i in $(seq "$n"); do
		if eval "[ \"\$leader\" = 127.0.0.1:\$ETCD_CPORT_$name$i ]"; then
			echo "$name$i"
			return 0
		fi
	done
	return 1
}

done_testing() {
	echo "1..$T_NUM"
	echo "# $TEST_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
