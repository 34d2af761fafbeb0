#!/usr/bin/env bash
# How fast a lost lease reaches the command: redis-server is killed with
# -9 at a random point of the renewal cycle while dlock holds a lock; we
# print the time from the kill to the command's SIGTERM, and how long
# before the TTL since the last successful renewal ran out that was.
#   lost.sh [TRIALS] [TTL]     (defaults: 10 trials, 2s)
set -u
: "${DLOCK:?}"
trials=${1:-10}
ttl=${2:-2s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ttl_ms=$(python3 -c "
import re,sys; m=re.fullmatch(r'([0-9.]+)(ms|s|m|h)?', '$ttl')
print(int(float(m[1])*{'ms':1,'s':1000,'m':60000,'h':3600000,None:1000}[m[2]]))")
for _ in $(seq "$trials"); do
	redis-server --port 0 --unixsocket "$tmp/r.sock" --dir "$tmp" --save '' \
		--appendonly no --logfile "$tmp/log" &
	server=$!
	for _ in $(seq 100); do
		redis-cli -s "$tmp/r.sock" ping >/dev/null 2>&1 && break
		sleep 0.02
	done
	rm -f "$tmp/started" "$tmp/term"
	DLOCK_URL="unix://$tmp/r.sock" "$DLOCK" run --ttl "$ttl" k -- bash -c \
		"trap 't=\${EPOCHREALTIME/./}; echo \$((t / 1000)) > $tmp/term; exit 3' TERM
		 touch $tmp/started; sleep 60 & wait" 2>"$tmp/err" &
	pid=$!
	until [ -e "$tmp/started" ]; do sleep 0.01; done
	sleep "$(python3 -c "import random; print(round(random.uniform(0.5, 1.5) * $ttl_ms / 1000, 3))")"
	killed=$(( $(date +%s%N) / 1000000 ))
	kill -9 "$server"
	wait "$pid" 2>/dev/null
	wait "$server" 2>/dev/null
	last=$(sed -n 's/.*last successful renewal was at \([0-9:.]*\).*/\1/p' "$tmp/err")
	last_ms=$(( $(date -d "$(date +%Y-%m-%d) $last" +%s%N) / 1000000 ))
	term=$(cat "$tmp/term")
	echo "$((term - killed)) $((last_ms + ttl_ms - term))"
done | python3 -c "
import sys, statistics as st
rows = [tuple(map(int, l.split())) for l in sys.stdin]
k = [r[0] for r in rows]; m = [r[1] for r in rows]
print('lost lease, TTL $ttl_ms ms, %d trials' % len(rows))
print('  kill -9 of redis-server -> SIGTERM to the command: median %d ms, min %d, max %d' % (st.median(k), min(k), max(k)))
print('  SIGTERM before the TTL since the last renewal ran out: median %d ms, min %d, max %d' % (st.median(m), min(m), max(m)))
"
