#!/usr/bin/env bash
# The overlap that a server restart without persistence leaves (issue 12):
# a holder runs a command that ends at once on SIGTERM; a contender polls
# the server directly (SET NX on the lock key, as redis-py and redsync
# take it) every millisecond, reconnecting as soon as it can; the server is
# killed with -9 and started again on the same socket after a random
# down time. The overlap is the time from the contender's OK to the first
# command's last act (its TERM trap), when positive; "none" when the
# command was dead first. Prints every round and min/median/max.
#   restart.sh [ROUNDS] [MAX_DOWN_MS]     (defaults: 20 rounds, 1000 ms)
set -u
: "${DLOCK:?}"
rounds=${1:-20}
max_down=${2:-1000}
tmp=$(mktemp -d)
server=
stop_server() {
	[ -n "$server" ] && kill -9 "$server" 2>/dev/null && wait "$server" 2>/dev/null
	server=
}
trap 'stop_server; rm -rf "$tmp"' EXIT

start_server() {
	redis-server --port 0 --unixsocket "$tmp/r.sock" --dir "$tmp" \
		--save '' --appendonly no --logfile "$tmp/log" &
	server=$!
	until redis-cli -s "$tmp/r.sock" ping >/dev/null 2>&1; do sleep 0.005; done
}

# The contender: SET NX every millisecond, through any number of failed
# connections, until it gets the lock; writes the time of its OK.
cat >"$tmp/contender.py" <<'EOF'
import socket, sys, time
path, out = sys.argv[1], sys.argv[2]
cmd = b"*6\r\n$3\r\nSET\r\n$9\r\ndlock:{k}\r\n$9\r\ncontender\r\n$2\r\nNX\r\n$2\r\nPX\r\n$5\r\n60000\r\n"
s = None
while True:
    try:
        if s is None:
            s = socket.socket(socket.AF_UNIX); s.connect(path)
        s.sendall(cmd)
        r = s.recv(64)
        if not r:
            raise OSError("closed")
        if r.startswith(b"+OK"):
            t = time.time()
            break
    except OSError:
        if s: s.close()
        s = None
    time.sleep(0.001)
open(out, "w").write("%.6f\n" % t)
EOF

for i in $(seq "$rounds"); do
	start_server
	rm -f "$tmp/started" "$tmp/dead" "$tmp/got"
	DLOCK_URL="unix://$tmp/r.sock" "$DLOCK" run --ttl 30s k -- bash -c \
		"trap 'echo \$EPOCHREALTIME > $tmp/dead; exit 3' TERM
		 touch $tmp/started; sleep 300 & wait" 2>"$tmp/err" &
	holder=$!
	until [ -e "$tmp/started" ]; do sleep 0.01; done
	python3 "$tmp/contender.py" "$tmp/r.sock" "$tmp/got" &
	contender=$!
	down=$((RANDOM % (max_down + 1)))
	killed=$EPOCHREALTIME
	stop_server
	sleep "$(printf '0.%03d' "$down")"
	start_server
	up=$EPOCHREALTIME
	wait "$holder"
	status=$?
	wait "$contender"
	echo "$i $status $down $killed $up $(cat "$tmp/dead") $(cat "$tmp/got")"
	stop_server
done | python3 -c "
import sys, statistics as st
rows = []
for line in sys.stdin:
    i, status, down, killed, up, dead, got = line.split()
    killed, up, dead, got = (float(x.replace(',', '.')) for x in (killed, up, dead, got))
    overlap = (dead - got) * 1000
    rows.append(overlap)
    print('round %2s: exit %s, down %4s ms; server up -> contender OK %6.1f ms, '
          'server up -> command dead %6.1f ms; overlap %s' % (
          i, status, down, (got - up) * 1000, (dead - up) * 1000,
          '%.1f ms' % overlap if overlap > 0 else 'none'))
pos = [max(0.0, o) for o in rows]
print('restart without persistence, %d rounds, down time 0-$max_down ms:' % len(rows))
print('  overlap (contender OK -> first command dead; 0 when none): '
      'min %.1f ms, median %.1f ms, max %.1f ms; %d of %d rounds overlapped' % (
      min(pos), st.median(pos), max(pos), sum(1 for o in rows if o > 0), len(rows)))
"
