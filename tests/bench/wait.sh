#!/usr/bin/env bash
# What WAIT costs per renewal: "dlock renew" of one lock, N times with
# --wait-replicas 0 and N times with 1, against a master with one replica
# on loopback; the renew script and WAIT go in one round trip, so the
# difference is the replica's acknowledgement. Prints the medians and the
# 99th percentiles of each, in ms (process start included, the same for
# both). Numbers, not pass/fail.
#   tests/bench/wait.sh [N]
set -u
: "${DLOCK:?}"
n=${1:-300}
port=$((20000 + RANDOM % 30000))
# shellcheck source=tests/bench/server.sh
. "$(dirname "$0")/server.sh"
rport=$((port + 1))
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --save '' \
	--appendonly no --dbfilename r2.rdb --logfile "$tmp/r2.log" \
	--replicaof 127.0.0.1 "$port" &
replica=$!
trap 'kill $server $replica; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do
	redis-cli -p "$port" info replication | grep -q 'state=online' && break
	sleep 0.05
done
url="redis://127.0.0.1:$port"
owner=$("$DLOCK" --url "$url" acquire --ttl 1h bench) || exit 1

# times WAIT: n renewals, each timed on its own, in ms, one a line.
times() {
	local t0 t1
	for _ in $(seq "$n"); do
		t0=$(date +%s%N)
		"$DLOCK" --url "$url" renew bench --owner "$owner" \
			--wait-replicas "$1" || exit 1
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done
}
times 0 >"$tmp/w0"
times 1 >"$tmp/w1"
times 0 >>"$tmp/w0"
times 1 >>"$tmp/w1"
python3 - "$tmp/w0" "$tmp/w1" <<'PY'
import statistics, sys
def load(p):
    v = sorted(int(x) / 1000 for x in open(p))
    return statistics.median(v), v[int(len(v) * 0.99) - 1], len(v)
m0, p0, n0 = load(sys.argv[1])
m1, p1, n1 = load(sys.argv[2])
print("dlock renew, one replica on loopback (%d each)" % n0)
print("  --wait-replicas 0  median %6.3f ms  p99 %6.3f ms" % (m0, p0))
print("  --wait-replicas 1  median %6.3f ms  p99 %6.3f ms" % (m1, p1))
print("  WAIT per renewal   median %+6.3f ms  p99 %+6.3f ms" % (m1 - m0, p1 - p0))
PY
"$DLOCK" --url "$url" release bench --owner "$owner"
