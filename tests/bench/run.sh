#!/usr/bin/env bash
# make bench: numbers, not pass/fail.
#  1. "dlock run k -- /bin/true" against "flock FILE /bin/true" (hyperfine,
#     same machine, same run), over a unix socket and over TCP loopback.
#  2. Peak RSS of dlock while it holds a lock.
set -u
: "${DLOCK:?}"
command -v hyperfine >/dev/null || {
	echo "bench: hyperfine is missing: apt-get install hyperfine" >&2
	exit 1
}
port=$((20000 + RANDOM % 30000))
# shellcheck source=tests/bench/server.sh
. "$(dirname "$0")/server.sh"

runs=${BENCH_RUNS:-300}
hyperfine -N --warmup 20 --runs "$runs" --export-json "$tmp/h.json" \
	-n flock "flock $tmp/f /bin/true" \
	-n dlock-unix "$DLOCK --url unix://$tmp/r.sock run k -- /bin/true" \
	-n dlock-tcp "$DLOCK --url redis://127.0.0.1:$port run k -- /bin/true" \
	-n dlock-shared "$DLOCK --url unix://$tmp/r.sock run -s ks -- /bin/true" \
	-n dlock-limit3 "$DLOCK --url unix://$tmp/r.sock run --limit 3 kl -- /bin/true" \
	>/dev/null
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["flock"]["median"]
print("run /bin/true under a lock (%d runs each)" % len(r["flock"]["times"]))
for name, x in r.items():
    print("  %-12s median %6.2f ms  mean %6.2f ms  (%.2fx flock)" %
          (name, x["median"] * 1e3, x["mean"] * 1e3, x["median"] / base))
PY

"$DLOCK" --url "unix://$tmp/r.sock" run --ttl 1s held -- sh -c \
	"touch $tmp/started; sleep 3" &
holder=$!
for _ in $(seq 100); do
	[ -e "$tmp/started" ] && break
	sleep 0.05
done
sleep 1.5	# let a few renewals run, so the renewal connection counts
echo "peak RSS of dlock holding a lock (after renewals): $(grep VmHWM /proc/$holder/status | awk '{print $2, $3}')"
wait "$holder"

"$(dirname "$0")/lost.sh" 10 2s
"$(dirname "$0")/handoff.sh" 10 24
"$(dirname "$0")/restart.sh" 20 1000
