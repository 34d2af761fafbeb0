#!/usr/bin/env bash
# make demo: three jobs want the same lock at once and take turns.
# Uses the server of $DLOCK_URL when it is set and answers; otherwise a
# throwaway redis-server on a unix socket, stopped at the end.
set -u
: "${DLOCK:?}"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "dlock: the demo needs redis-server and redis-cli: install them" \
		"with: sudo apt-get install redis-server redis-tools" >&2
	exit 1
fi
tmp=$(mktemp -d)
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${DLOCK_URL:-}" ] &&
	"$DLOCK" --url "$DLOCK_URL" run -n --connect-timeout 1s \
		dlock-demo-probe -- true 2>/dev/null; then
	echo "Using the Redis server of DLOCK_URL ($DLOCK_URL)."
else
	redis-server --port 0 --unixsocket "$tmp/redis.sock" --dir "$tmp" \
		--save '' --appendonly no --logfile "$tmp/redis.log" &
	server=$!
	for _ in $(seq 100); do
		redis-cli -s "$tmp/redis.sock" ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	export DLOCK_URL="unix://$tmp/redis.sock"
	unset REDIS_URL
	echo "No Redis answered, so this demo started a throwaway one: $DLOCK_URL"
fi

echo
echo "Three jobs start at the same moment; each runs under 'dlock run deploy':"
echo "  dlock run deploy -- sh -c 'echo working; sleep 1; echo done'"
echo
start=$(date +%s%N)
stamp() {
	local now=$(( ($(date +%s%N) - start) / 1000000 ))
	printf '%5d ms  ' "$now"
}
export -f stamp
export start
pids=""
for job in A B C; do
	"$DLOCK" run deploy -- bash -c "
		stamp; echo \"job $job: has the lock (fencing token \$DLOCK_TOKEN), working\"
		sleep 1
		stamp; echo \"job $job: done, releasing\"" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done
echo
echo "Each job waited for the one before it; none overlapped, and each holder"
echo "got a larger fencing token. With -n, a job that finds the lock taken"
echo "gives up at once instead:"
echo
"$DLOCK" run deploy -- sleep 1 &
holder=$!
sleep 0.3
echo "  \$ dlock run -n deploy -- ./deploy.sh"
"$DLOCK" run -n deploy -- true 2>&1 | sed 's/^/  /'
echo "  (exit status ${PIPESTATUS[0]})"
echo
echo "And an operator asks who holds it:"
echo
echo "  \$ dlock status deploy"
"$DLOCK" status deploy | sed 's/^/  /'
wait "$holder"
