#!/usr/bin/env bash
# Start-up, A/B: `X k /bin/true` and a batch of K contenders running
# /bin/true at once, for flock(1) and for each dlock binary given, in
# ROUNDS rounds. A round times `X k /bin/true` with alternate.py (one run
# of each in turn), then the batches with hyperfine, flock first, then the
# binaries, in reverse order every other round. On a shared 2-core
# machine the load drifts within a minute: a change is only worth its
# figure if it wins in most rounds, against the flock of its round.
#   startup.sh DLOCK-BINARY...
# Environment: ROUNDS (default 5), RUNS per figure and round (300),
# BATCHES (20) and K (24) for the batch.
set -u
[ $# -ge 1 ] || {
	echo "usage: startup.sh DLOCK-BINARY..." >&2
	exit 64
}
command -v hyperfine >/dev/null || {
	echo "startup.sh: hyperfine is missing: apt-get install hyperfine" >&2
	exit 1
}
rounds=${ROUNDS:-5}
runs=${RUNS:-300}
batches=${BATCHES:-20}
k=${K:-24}
# shellcheck source=tests/bench/server.sh
. "$(dirname "$0")/server.sh"
url="unix://$tmp/r.sock"

for r in $(seq "$rounds"); do
	one=("flock=flock $tmp/f /bin/true")
	batch=(-n flock "for i in \$(seq $k); do flock $tmp/b /bin/true & done; wait")
	# Every other round takes the binaries in the reverse order.
	order=$(seq $#)
	[ $((r % 2)) = 0 ] && order=$(seq $# -1 1)
	for i in $order; do
		bin=${!i}
		one+=("$i=$bin --url $url run k -- /bin/true")
		batch+=(-n "$i" "for i in \$(seq $k); do $bin --url $url run b -- /bin/true & done; wait")
	done
	/usr/bin/python3 "$(dirname "$0")/alternate.py" --runs "$runs" \
		--json "$tmp/one.$r" "${one[@]}" >/dev/null
	hyperfine --shell bash --warmup 2 --runs "$batches" \
		--export-json "$tmp/batch.$r" "${batch[@]}" >/dev/null
	uptime | sed 's/.*load average: //' >"$tmp/load.$r"
done

/usr/bin/python3 - "$tmp" "$rounds" "$k" "$@" <<'PY'
import json, statistics as st, sys
tmp, rounds, k, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
for i, b in enumerate(bins, 1):
    print("%d: %s" % (i, b))
for fig, name in (("one", "X k /bin/true"), ("batch", k + " contenders")):
    print("\n%s, medians in ms (ratio to flock):" % name)
    ratios = {str(i): [] for i in range(1, len(bins) + 1)}
    for r in range(1, rounds + 1):
        j = json.load(open("%s/%s.%d" % (tmp, fig, r)))
        if "results" in j:	# hyperfine's
            res = {x["command"]: x["median"] * 1e3 for x in j["results"]}
        else:			# alternate.py's
            res = {n: x["median"] * 1e3 for n, x in j.items()}
        f = res["flock"]
        cells = []
        for n in ratios:
            ratios[n].append(res[n] / f)
            cells.append("%s %.3f (%.3fx)" % (n, res[n], res[n] / f))
        load = open("%s/load.%d" % (tmp, r)).read().strip()
        print("  round %d, load %s: flock %.3f | %s"
              % (r, load, f, " | ".join(cells)))
    print("  median ratio over the rounds: " +
          " | ".join("%s %.3fx" % (n, st.median(v)) for n, v in ratios.items()))
PY
