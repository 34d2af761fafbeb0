#!/usr/bin/env bash
# Overlap torture through Sentinel failovers: a master, a replica and three
# sentinels on loopback; N contenders loop "dlock run" on one lock through
# redis+sentinel:// while the sentinels fail the master over F times, back
# and forth. Each critical section logs when it began and ended (an EXIT
# trap, so a section stopped by a lost lease ends too) and its token; an
# mkdir detector flags overlaps. Prints the sections, the overlaps and the
# longest one in ms, the runs that lost their lease (75), and whether the
# tokens grew in order of entry. Numbers, not pass/fail.
#   tests/bench/failover.sh [N [F [DLOCK-RUN-OPTIONS...]]]
set -u
: "${DLOCK:?}"
n=${1:-4}
failovers=${2:-3}
shift 2 2>/dev/null || shift $#
tmp=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

up() { redis-cli -p "$1" ping >/dev/null 2>&1; }
wait_for() {
	local i
	for i in $(seq 600); do
		"$@" && return 0
		sleep 0.05
	done
	echo "failover.sh: gave up waiting for: $*" >&2
	return 1
}
# Five free ports in a row.
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
while :; do
	base=$((20000 + RANDOM % 30000))
	free $base && free $((base + 1)) && free $((base + 2)) &&
		free $((base + 3)) && free $((base + 4)) && break
done
pm=$base pr=$((base + 1))
redis-server --port "$pm" --bind 127.0.0.1 --dir "$tmp" --save '' \
	--dbfilename m.rdb --logfile "$tmp/m.log" &
pids="$pids $!"
redis-server --port "$pr" --bind 127.0.0.1 --dir "$tmp" --save '' \
	--dbfilename r.rdb --logfile "$tmp/r.log" --replicaof 127.0.0.1 "$pm" &
pids="$pids $!"
wait_for up "$pm" && wait_for up "$pr" || exit 1
sentinels=""
for i in 1 2 3; do
	p=$((base + 1 + i))
	printf '%s\n' "port $p" "bind 127.0.0.1" "dir $tmp" \
		"logfile $tmp/s$i.log" "sentinel monitor svc 127.0.0.1 $pm 2" \
		"sentinel down-after-milliseconds svc 1000" \
		"sentinel failover-timeout svc 4000" >"$tmp/s$i.conf"
	redis-sentinel "$tmp/s$i.conf" >/dev/null 2>&1 &
	pids="$pids $!"
	sentinels="$sentinels${sentinels:+,}127.0.0.1:$p"
done
s1=$((base + 2))
settled() {
	local p
	for p in $((base + 2)) $((base + 3)) $((base + 4)); do
		[ "$(redis-cli -p "$p" sentinel master svc 2>/dev/null |
			sed -n '/^num-other-sentinels$/{n;p}')" = 2 ] || return 1
		[ -n "$(redis-cli -p "$p" sentinel replicas svc 2>/dev/null)" ] ||
			return 1
	done
	redis-cli -p "$(master)" info replication | grep -q 'state=online'
}
master() {
	redis-cli -p "$s1" sentinel get-master-addr-by-name svc 2>/dev/null |
		sed -n 2p
}
wait_for settled || exit 1
export DLOCK_URL="redis+sentinel://$sentinels/svc" D=$tmp
: >"$tmp/sections"
: >"$tmp/overlaps"
: >"$tmp/runs"

critical='
s=$(date +%s%N)
trap '\''echo "$s $(date +%s%N) $DLOCK_TOKEN" >> "$D/sections"'\'' EXIT
mkdir "$D/inside" 2>/dev/null || echo overlap >>"$D/overlaps"
sleep 0.05
rmdir "$D/inside" 2>/dev/null || echo overlap >>"$D/overlaps"
'
for _ in $(seq "$n"); do
	(
		while [ ! -e "$tmp/stop" ]; do
			"$DLOCK" --connect-timeout 1s run -q --ttl 3s -w 60s "$@" tort \
				-- sh -c "$critical" 2>>"$tmp/errors"
			echo $? >>"$tmp/runs"
		done
	) &
	contenders="${contenders:-} $!"
done

start=$(date +%s%N)
for f in $(seq "$failovers"); do
	sleep 3
	old=$(master)
	started() {
		redis-cli -p "$s1" sentinel failover svc | grep -q '^OK'
	}
	moved() { [ "$(master)" != "$old" ]; }
	# NOGOODSLAVE and INPROG until the last failover has settled.
	wait_for started && wait_for moved || break
	wait_for settled || break
	echo "failover $f: master $old -> $(master)"
done
sleep 3
touch "$tmp/stop"
for p in $contenders; do
	wait "$p"
done
elapsed=$((($(date +%s%N) - start) / 1000000))

python3 - "$tmp/sections" "$tmp/overlaps" "$tmp/runs" "$elapsed" <<'PY'
import sys
secs = sorted(tuple(int(x) for x in l.split()) for l in open(sys.argv[1])
              if len(l.split()) == 3)
flagged = sum(1 for _ in open(sys.argv[2]))
runs = [int(l) for l in open(sys.argv[3]) if l.strip()]
over, worst, end = 0, 0, None
for s, e, _ in secs:
    if end is not None and s < end:
        over += 1
        worst = max(worst, min(e, end) - s)
    end = e if end is None else max(end, e)
tokens = [t for _, _, t in secs]
grow = all(a < b for a, b in zip(tokens, tokens[1:]))
steps = [b - a for a, b in zip(tokens, tokens[1:])]
jumps = [d for d in steps if d > 1 << 31]
print("failover torture: %d sections in %.1f s" % (len(secs),
      int(sys.argv[4]) / 1000))
print("  overlaps: %d by interval (longest %.1f ms), %d by the detector"
      % (over, worst / 1e6, flagged))
print("  runs: %d, exit 0: %d, 75 (told): %d, other: %d" % (len(runs),
      runs.count(0), runs.count(75),
      len(runs) - runs.count(0) - runs.count(75)))
print("  tokens grow in order of entry: %s; epoch jumps: %d (2^32 %s)" %
      ("yes" if grow else "NO", len(jumps),
       " ".join("%+d" % (d - (1 << 32)) for d in jumps)))
PY
sort "$tmp/errors" 2>/dev/null | sed 's/[0-9]\{2,\}/N/g' | sort | uniq -c |
	sort -rn | head -5 | sed 's/^/  error: /'
