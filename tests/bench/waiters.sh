#!/usr/bin/env bash
# Many waiters on one lock: for each N, N dlock processes queue on a held
# lock (the count waits until the queue is N long, no sleep-loop race),
# then the lock is handed on H times; prints per N one markdown row:
# handoff p50 and p99 (one command's exit -> the next one's start, ms),
# the Redis work of one handoff (the server's time for the release
# script, which hands the lock on, median over the handoffs, from SLOWLOG;
# the other waiters' heartbeats go on meanwhile and are not counted),
# Redis used_memory with the N waiters queued, and whether the commands
# ran exactly in the order the waiters joined the queue.
#   tests/bench/waiters.sh [H] [N...]     (defaults: 50; 10 100 1000)
set -u
: "${DLOCK:?}"
h=${1:-50}
shift
sizes=${*:-10 100 1000}
# shellcheck source=tests/bench/server.sh
. "$(dirname "$0")/server.sh"
export DLOCK_URL="unix://$tmp/r.sock"
cli() { redis-cli -s "$tmp/r.sock" "$@"; }
# Each job logs its number ($0) and when it starts and ends; the first H
# handoffs are timed.
job='printf "%s S %s\n%s E %s\n" "$0" "$EPOCHREALTIME" "$0" "$EPOCHREALTIME" >> '

# The release script is known by the SHA-1 of its text, which the build
# wrote next to the binary.
release_sha=$(sha1sum "$(dirname "$DLOCK")/scripts/release.lua" 2>/dev/null |
	cut -d' ' -f1)

echo "| waiters | handoff p50 ms | handoff p99 ms | release script us (server) | used_memory MiB | FIFO |"
echo "|---|---|---|---|---|---|"
for n in $sizes; do
	name="w$n"
	: >"$tmp/log"
	owner=$("$DLOCK" acquire --ttl 1h "$name") || exit 1
	pids=""
	for i in $(seq "$n"); do
		"$DLOCK" run -q "$name" -- bash -c "$job $tmp/log" "$i" &
		pids="$pids $!"
		# Joined in this order: the next one starts once this one is in.
		until [ "$(cli llen "dlock:{$name}:queue")" -ge "$i" ]; do
			sleep 0.01
		done
	done
	mem=$(cli info memory | tr -d '\r' | sed -n 's/^used_memory://p')
	cli config set slowlog-log-slower-than 0 >/dev/null
	cli config set slowlog-max-len 1000000 >/dev/null
	cli slowlog reset >/dev/null
	"$DLOCK" release "$name" --owner "$owner" || exit 1
	for p in $pids; do wait "$p"; done
	cli --json slowlog get 1000000 >"$tmp/slowlog"
	cli config set slowlog-log-slower-than 10000 >/dev/null
	python3 - "$tmp/log" "$n" "$h" "$mem" "$tmp/slowlog" "$release_sha" <<'PY'
import json, statistics, sys
path, n, h, mem = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sha = sys.argv[6]
releases = [e[2] for e in json.load(open(sys.argv[5]))
            if sha and len(e[3]) > 1 and e[3][0].upper() == "EVALSHA" and e[3][1] == sha]
work = "%d" % statistics.median(releases) if releases else "-"
starts, ends, order = {}, {}, []
for line in open(path):
    i, kind, t = line.split()
    t = float(t.replace(",", "."))
    if kind == "S":
        starts[int(i)] = t
        order.append(int(i))
    else:
        ends[int(i)] = t
gaps = sorted((starts[order[j + 1]] - ends[order[j]]) * 1000
              for j in range(min(h, len(order) - 1)))
p = lambda q: gaps[min(len(gaps) - 1, int(round(q * (len(gaps) - 1))))]
fifo = "exact" if order == list(range(1, n + 1)) else "NOT in order"
print("| %d | %.2f | %.2f | %s | %.1f | %s |" % (n, p(0.5), p(0.99), work, mem / 2**20, fifo))
PY
done
