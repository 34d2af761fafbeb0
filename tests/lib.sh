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
	if ! wait_until 10 redis-cli -s "$TMP/$name.sock" ping >/dev/null 2>&1; then
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
		: >"$TMP/$name.log"
		redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP" \
			--save '' --appendonly no --dbfilename "$name.rdb" \
			--logfile "$TMP/$name.log" "$@" >/dev/null 2>&1 &
		local pid=$!
		# A server that lost the port to another one dies at once,
		# and another test's server may answer on it meanwhile.
		if wait_until 10 redis_ready "$TMP/$name.log" "$pid" &&
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

# Whether the server logging to $1, process $2, is ready (or died).
redis_ready() {
	kill -0 "$2" 2>/dev/null || return 0	# died: stop waiting
	grep -q 'Ready to accept connections' "$1" 2>/dev/null
}

# Whether the server on port $1 is process $2, not another test's.
redis_up() {
	kill -0 "$2" 2>/dev/null || return 0	# died: stop waiting
	redis-cli -p "$1" info server 2>/dev/null | tr -d '\r' |
		grep -qx "process_id:$2"
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

done_testing() {
	echo "1..$T_NUM"
	echo "# $TEST_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
