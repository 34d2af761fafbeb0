# Sourced by the quorum benchmarks: three throwaway redis-servers on
# $tmp/q1.sock .. q3.sock, with AOF and appendfsync always (what quorum
# mode assumes of a node that restarts; QUORUM_PERSIST=no starts them
# without, to show what that assumption buys), stopped and removed on exit.
# qstart N starts (or restarts) node N; its pid is in $tmp/qN.pid.
# shellcheck shell=bash
tmp=$(mktemp -d)
qstart() {
	redis-server --port 0 --unixsocket "$tmp/q$1.sock" --dir "$tmp" \
		--save '' --appendonly "${QUORUM_PERSIST:-yes}" \
		--appendfsync always \
		--appendfilename "q$1.aof" --appenddirname "q$1.aofdir" \
		--logfile "$tmp/q$1.log" >/dev/null 2>&1 &
	echo $! >"$tmp/q$1.pid"
	for _ in $(seq 200); do
		redis-cli -s "$tmp/q$1.sock" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "quorum: redis-server q$1 did not start" >&2
	return 1
}
qstop_all() {
	local n
	for n in 1 2 3; do
		[ -s "$tmp/q$n.pid" ] || continue
		kill -CONT "$(cat "$tmp/q$n.pid")" 2>/dev/null
		kill "$(cat "$tmp/q$n.pid")" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap qstop_all EXIT
for q in 1 2 3; do
	qstart "$q" || exit 1
done
# shellcheck disable=SC2034 # read by the scripts that source this one
QURLS="unix://$tmp/q1.sock,unix://$tmp/q2.sock,unix://$tmp/q3.sock"
