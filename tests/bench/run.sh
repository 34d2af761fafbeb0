#!/usr/bin/env bash
# make bench: numbers, not pass/fail. First the table of issue 16, every
# row measured in this one run side by side with flock(1), and with
# "etcdctl lock" (a throwaway etcd) and a redis-py Lock wrapper where those
# are installed: ratios mean something on a busy machine, absolute times
# do not. Then the other benchmarks' own reports.
#
# Rows come from here, from handoff.sh and idle.sh (their lines that start
# with "|": figure | flock | dlock | ratio, without the etcdctl and
# redis-py cells) and from the 1,000-waiter line of waiters.sh; the rest
# of their output, waiters.sh's whole table too, is printed below it.
set -u
: "${DLOCK:?}"
command -v hyperfine >/dev/null || {
	echo "bench: hyperfine is missing: apt-get install hyperfine" >&2
	exit 1
}
bench=$(cd "$(dirname "$0")" && pwd)
port=$((20000 + RANDOM % 30000))
# shellcheck source=tests/bench/server.sh
. "$bench/server.sh"
url="unix://$tmp/r.sock"
runs=${BENCH_RUNS:-300}
rows="$tmp/rows"
notes="$tmp/notes"
: >"$rows"
: >"$notes"

# --- The other tools, when installed --------------------------------------

etcd_pid=
if command -v etcd >/dev/null && command -v etcdctl >/dev/null; then
	eport=$((port + 1))
	etcd --data-dir "$tmp/etcd" --name bench \
		--listen-client-urls "http://127.0.0.1:$eport" \
		--advertise-client-urls "http://127.0.0.1:$eport" \
		--listen-peer-urls "http://127.0.0.1:$((port + 2))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((port + 2))" \
		--initial-cluster "bench=http://127.0.0.1:$((port + 2))" \
		>"$tmp/etcd.log" 2>&1 &
	etcd_pid=$!
	trap 'kill $etcd_pid $server 2>/dev/null; wait $etcd_pid $server 2>/dev/null; rm -rf "$tmp"' EXIT
	export ETCDCTL_ENDPOINTS="http://127.0.0.1:$eport"
	for _ in $(seq 200); do
		etcdctl endpoint health >/dev/null 2>&1 && break
		sleep 0.05
	done
	etcdctl endpoint health >/dev/null 2>&1 || {
		echo "bench: etcd did not start; no etcdctl column" >&2
		kill "$etcd_pid"
		etcd_pid=
	}
fi
rpy=
# Debian's python3-redis is for /usr/bin/python3, which a pyenv may hide.
rpy_python=
for py in python3 /usr/bin/python3; do
	"$py" -c 'import redis' 2>/dev/null && rpy_python=$py && break
done
if [ -n "$rpy_python" ]; then
	# The least a redis-py user would write: a Lock held around the command.
	cat >"$tmp/rlock.py" <<'EOF'
import subprocess, sys
import redis
r = redis.Redis(unix_socket_path=sys.argv[1])
with r.lock(sys.argv[2], timeout=30, blocking_timeout=None):
    sys.exit(subprocess.call(sys.argv[3:]))
EOF
	rpy="$rpy_python $tmp/rlock.py $tmp/r.sock"
fi

# The command line of each tool taking lock $1 to run the rest.
tool_cmd() {
	local tool=$1 name=$2
	shift 2
	case $tool in
	flock) echo "flock $tmp/$name $*" ;;
	dlock) echo "$DLOCK --url $url run $name -- $*" ;;
	etcdctl) echo "etcdctl lock $name $*" ;;
	redis-py) echo "$rpy $name $*" ;;
	esac
}
tools="flock dlock${etcd_pid:+ etcdctl}${rpy:+ redis-py}"

# row FIGURE UNIT FLOCK DLOCK ETCD RPY: one line of the table; "-" for none.
row() {
	python3 - "$@" >>"$rows" <<'PY'
import sys
fig, unit, f, d, e, p = sys.argv[1:]
def v(x):
    return "-" if x == "-" else "%s %s" % (x, unit)
ratio = "%.2fx" % (float(d) / float(f)) if f != "-" and d != "-" and float(f) else "-"
print("| %s | %s | %s | %s | %s | %s |" % (fig, v(f), v(d), ratio, v(e), v(p)))
PY
}

# The median of each tool in a hyperfine or alternate.py JSON export, in
# ms, in tool order.
medians() {
	# shellcheck disable=SC2086 # one argument a tool
	python3 - "$1" $tools <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
if "results" in j:	# hyperfine's
    r = {x["command"]: x["median"] * 1e3 for x in j["results"]}
else:			# alternate.py's
    r = {n: x["median"] * 1e3 for n, x in j.items()}
print(" ".join("%.2f" % r[t] if t in r else "-" for t in ["flock", "dlock", "etcdctl", "redis-py"]))
PY
}

# --- X k /bin/true ----------------------------------------------------------

# The tools in turn, one run each, so that the load's drift reaches all.
args=()
for t in $tools; do
	args+=("$t=$(tool_cmd "$t" k /bin/true)")
done
/usr/bin/python3 "$bench/alternate.py" --runs "$runs" --json "$tmp/start.json" \
	"${args[@]}" >/dev/null 2>>"$notes"
# shellcheck disable=SC2046 # four words
row "\`X k /bin/true\` median ($runs runs, in turn)" ms \
	$(medians "$tmp/start.json")

# --- 24 contenders at once ------------------------------------------------

k=${BENCH_CONTENDERS:-24}
args=()
for t in $tools; do
	args+=(-n "$t" "for i in \$(seq $k); do $(tool_cmd "$t" c /bin/true) & done; wait")
done
hyperfine --shell bash --warmup 3 --runs "${BENCH_BATCHES:-30}" \
	--export-json "$tmp/batch.json" "${args[@]}" >/dev/null 2>>"$notes"
# shellcheck disable=SC2046
row "$k contenders at once, whole batch (median)" ms \
	$(medians "$tmp/batch.json")

# --- Peak RSS while holding -----------------------------------------------

# Peak RSS of the tool itself, holding a lock while its command sleeps;
# for dlock after a few renewals, so that the renewal connection counts.
peak_rss() {
	local tool=$1 pid kb
	rm -f "$tmp/started"
	case $tool in
	dlock) "$DLOCK" --url "$url" run --ttl 1s held -- sh -c \
		"touch $tmp/started; sleep 3" & ;;
	flock) flock "$tmp/held" sh -c "touch $tmp/started; sleep 3" & ;;
	esac
	pid=$!
	for _ in $(seq 200); do
		[ -e "$tmp/started" ] && break
		sleep 0.05
	done
	[ "$tool" = dlock ] && sleep 1.5	# renewals every 333 ms
	kb=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
	wait "$pid"
	awk -v kb="$kb" 'BEGIN { printf "%.2f", kb / 1024 }'
}
row "peak RSS while holding" MB "$(peak_rss flock)" "$(peak_rss dlock)" - -

# --- Handoff, a batch, idle waiters' requests: handoff.sh -------------------

# Its rows have no etcdctl or redis-py cell.
"$bench/handoff.sh" 10 "$k" >"$tmp/handoff.out" 2>&1
grep '^|' "$tmp/handoff.out" | sed 's/$/ - | - |/' >>"$rows"
grep -v '^|' "$tmp/handoff.out" >>"$notes"

# --- Idle waiters' requests per second, 1,000 waiters: their own scripts ---

"$bench/idle.sh" >"$tmp/idle.out" 2>&1
grep '^|' "$tmp/idle.out" | sed 's/$/ - | - |/' >>"$rows"
grep -v '^|' "$tmp/idle.out" >>"$notes"
# waiters.sh's own table (10, 100, 1,000 waiters) goes below; its last
# line, 1,000 waiters, is the row of this one.
"$bench/waiters.sh" >"$tmp/waiters.out" 2>&1
{
	echo "Many waiters on one lock (tests/bench/waiters.sh):"
	echo
	cat "$tmp/waiters.out"
	echo
} >>"$notes"
python3 - "$tmp/waiters.out" >>"$rows" <<'PY'
import sys
last = [l for l in open(sys.argv[1]) if l.startswith("| ") and l.split("|")[1].strip().isdigit()]
if last:
    n, p50, p99, work, mem, fifo = [c.strip() for c in last[-1].strip().strip("|").split("|")]
    print("| %s waiters on one lock: handoff p50 / p99, release script (server), Redis memory, FIFO | - | %s / %s ms, %s us, %s MiB, %s | - | - | - |"
          % (n, p50, p99, work, mem, fifo))
else:
    print("| waiters on one lock | - | not measured: see waiters.sh's output below | - | - | - |")
PY

echo "| figure | flock | dlock | ratio | etcdctl | redis-py |"
echo "|---|---|---|---|---|---|"
cat "$rows"
echo
echo "($(nproc) cores, $(uptime | sed 's/.*load average/load average/'))"
echo
cat "$notes"

"$bench/lost.sh" 10 2s
"$bench/restart.sh" 20 1000
