#!/usr/bin/env bash
# Numbers, not pass/fail: "dlock run k -- /bin/true" on a quorum of three
# servers against one server and against flock(1) (hyperfine, same machine,
# same run, unix sockets); then with one of the three nodes frozen, where
# each take and release waits out that node's deadline (a tenth of the
# lease, at most 1 s: 200 ms for --ttl 2s).
set -u
: "${DLOCK:?}"
command -v hyperfine >/dev/null || {
	echo "bench: hyperfine is missing: apt-get install hyperfine" >&2
	exit 1
}
# shellcheck source=tests/bench/quorum-servers.sh
. "$(dirname "$0")/quorum-servers.sh"
q1=unix://$tmp/q1.sock q2=unix://$tmp/q2.sock q3=unix://$tmp/q3.sock
runs=${BENCH_RUNS:-200}
hyperfine -N --warmup 20 --runs "$runs" --export-json "$tmp/h.json" \
	-n flock "flock $tmp/f /bin/true" \
	-n dlock-one "$DLOCK --url $q1 run k1 -- /bin/true" \
	-n dlock-quorum3 "$DLOCK --url $q1 --url $q2 --url $q3 run k -- /bin/true" \
	>/dev/null
kill -STOP "$(cat "$tmp/q3.pid")"
hyperfine -N --warmup 2 --runs 10 --export-json "$tmp/f.json" \
	-n quorum3-one-frozen \
	"$DLOCK --url $q1 --url $q2 --url $q3 run --ttl 2s kf -- /bin/true" \
	>/dev/null
kill -CONT "$(cat "$tmp/q3.pid")"
python3 - "$tmp/h.json" "$tmp/f.json" <<'PY'
import json, sys
r = {}
for f in sys.argv[1:]:
    r.update({x["command"]: x for x in json.load(open(f))["results"]})
base = r["flock"]["median"]
print("run /bin/true under a lock (AOF with appendfsync always on every node)")
for name, x in r.items():
    print("  %-20s median %7.2f ms  mean %7.2f ms  (%5.1fx flock, %d runs)" %
          (name, x["median"] * 1e3, x["mean"] * 1e3, x["median"] / base,
           len(x["times"])))
PY
