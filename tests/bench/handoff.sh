#!/usr/bin/env bash
# Waiting, measured against flock(1) on the same machine in the same run,
# as markdown table rows | figure | flock | dlock | ratio |:
#  (a) handoff latency: from a holder's command exit to the next waiter's
#      command start, median and p99;
#  (b) a batch of K contenders running `true` on one lock at once: total
#      time;
#  (c) requests per waiter per second while waiting on a held lock.
#   handoff.sh [ROUNDS] [K]     (defaults: 10 rounds of 20; K = 24)
set -u
: "${DLOCK:?}"
rounds=${1:-10}
k=${2:-24}
per=20
# shellcheck source=tests/bench/server.sh
. "$(dirname "$0")/server.sh"
export DLOCK_URL="unix://$tmp/r.sock"

# The job records when it starts and, as its last act, when it ends.
job='printf "S %s\nE %s\n" "$EPOCHREALTIME" "$(sleep 0.02; echo $EPOCHREALTIME)" >> '

# chain TOOL LOG: $per contenders at once, one round.
chain() {
	local i pids=""
	for i in $(seq "$per"); do
		if [ "$1" = flock ]; then
			flock "$tmp/flock" bash -c "$job $2" &
		else
			"$DLOCK" run -q handoff -- bash -c "$job $2" &
		fi
		pids="$pids $!"
	done
	for i in $pids; do wait "$i"; done
}

# The tools take turns round by round, which comes first alternating, so
# that the load's drift reaches both alike.
: >"$tmp/flock.log"
: >"$tmp/dlock.log"
for r in $(seq "$rounds"); do
	order="flock dlock"
	[ $((r % 2)) = 0 ] && order="dlock flock"
	for tool in $order; do
		: >"$tmp/round"
		chain "$tool" "$tmp/round"
		echo ROUND >>"$tmp/round"
		cat "$tmp/round" >>"$tmp/$tool.log"
	done
done

batch() {
	local i pids="" start
	start=$(date +%s%N)
	for i in $(seq "$k"); do
		if [ "$1" = flock ]; then
			flock "$tmp/flock" true &
		else
			"$DLOCK" run -q batch -- true &
		fi
		pids="$pids $!"
	done
	for i in $pids; do wait "$i"; done
	echo $(( ($(date +%s%N) - start) / 1000 ))
}
for _ in 1 2 3 4 5 6 7; do
	echo "flock $(batch flock)"
	echo "dlock $(batch dlock)"
done >"$tmp/batch"

# (c) 20 idle waiters on a held lock for 6 s.
"$DLOCK" run idle -- sleep 12 &
waiters=$!
sleep 0.3
for _ in $(seq 20); do
	"$DLOCK" run -q idle -- true &
	waiters="$waiters $!"
done
until [ "$(redis-cli -s "$tmp/r.sock" llen 'dlock:{idle}:queue')" -ge 20 ]; do
	sleep 0.05
done
redis-cli -s "$tmp/r.sock" config resetstat >/dev/null
sleep 6
redis-cli -s "$tmp/r.sock" info commandstats >"$tmp/stats"
for p in $waiters; do wait "$p"; done

python3 - "$tmp" "$k" <<'PY'
import re, statistics as st, sys
tmp, k = sys.argv[1], int(sys.argv[2])

def handoffs(path):
    gaps, rnd = [], []
    for line in open(path):
        if line.startswith("ROUND"):
            s = sorted(rnd)
            starts = [t for t, kind in s if kind == "S"]
            ends = [t for t, kind in s if kind == "E"]
            # holder i ends, holder i+1 starts
            for e, nxt in zip(ends, starts[1:]):
                gaps.append((nxt - e) * 1000)
            rnd = []
            continue
        kind, t = line.split()
        rnd.append((float(t.replace(",", ".")), kind))
    return gaps

def p99(v):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]

f, d = handoffs(tmp + "/flock.log"), handoffs(tmp + "/dlock.log")
n = len(f)
print("| handoff median, command exit -> next start (%d each), ms | %.2f | %.2f | %.2fx |"
      % (n, st.median(f), st.median(d), st.median(d) / st.median(f)))
print("| handoff p99, ms | %.2f | %.2f | %.2fx |"
      % (p99(f), p99(d), p99(d) / p99(f)))
b = {"flock": [], "dlock": []}
for line in open(tmp + "/batch"):
    tool, us = line.split()
    b[tool].append(int(us) / 1000)
fb, db = st.median(b["flock"]), st.median(b["dlock"])
print("| %d contenders running true at once, total ms (median of %d) | %.1f | %.1f | %.2fx |"
      % (k, len(b["flock"]), fb, db, db / fb))
stats = open(tmp + "/stats").read()
req = sum(int(m) for m in re.findall(r"cmdstat_(?:evalsha|eval|blpop):calls=(\d+)", stats))
allc = sum(int(m) for name, m in re.findall(r"cmdstat_([a-z|]+):calls=(\d+)", stats)
           if not name.startswith(("info", "config")))
print("| 20 idle waiters for 6 s, requests per waiter per second | - | %.2f | - |"
      % (req / 120))
print("| ... server commands per waiter per second, scripts' included | - | %.1f | - |"
      % (allc / 120))
PY
