#!/usr/bin/env bash
# Requests an idle waiter sends: W waiters queue on a held lock, and the
# server's INFO commandstats over S seconds say how many commands they
# sent: EVALSHA, BLPOP, WAIT and the connection's own (PING, HELLO, ...),
# each one request; the commands a script runs inside the server are not
# requests and are left out. flock(1) sends none, so the row has no flock
# figure. Prints one markdown table row.
#   tests/bench/idle.sh [W] [S]     (defaults: 20 waiters, 20 s)
set -u
: "${DLOCK:?}"
w=${1:-20}
secs=${2:-20}
# shellcheck source=tests/bench/server.sh
. "$(dirname "$0")/server.sh"
export DLOCK_URL="unix://$tmp/r.sock"
cli() { redis-cli -s "$tmp/r.sock" "$@"; }

owner=$("$DLOCK" acquire --ttl 1h idle) || exit 1
pids=""
for _ in $(seq "$w"); do
	"$DLOCK" run -q idle -- true &
	pids="$pids $!"
done
# Every waiter is in the queue: the count starts from a steady state.
until [ "$(cli llen 'dlock:{idle}:queue')" -ge "$w" ]; do sleep 0.05; done
cli config resetstat >/dev/null
sleep "$secs"
stats=$(cli info commandstats)
"$DLOCK" release idle --owner "$owner" || exit 1
for p in $pids; do wait "$p"; done
echo "$stats" | python3 -c '
import re, sys
w, secs = int(sys.argv[1]), float(sys.argv[2])
sent = ("evalsha", "eval", "blpop", "wait", "script", "ping", "hello",
        "client", "auth", "select")
calls = sum(int(n) for name, n in
            re.findall(r"cmdstat_([a-z|]+):calls=(\d+)", sys.stdin.read())
            if name.split("|")[0] in sent)
print("| idle waiter, requests per second (%d waiters, %g s) | - | %.2f | - |"
      % (w, secs, calls / w / secs))
' "$w" "$secs"
