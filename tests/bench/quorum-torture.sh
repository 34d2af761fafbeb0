#!/usr/bin/env bash
# The mutual exclusion torture (tests/torture.sh) on a quorum of three
# servers with AOF, while one node at a time is frozen (SIGSTOP), killed
# with -9 and restarted from its AOF, or left alone: a minority is always
# disturbed, so there must be no overlap, an exact counter and fencing
# tokens that strictly increase in order of entry.
#
#   quorum-torture.sh [N [M [DLOCK-RUN-OPTIONS...]]]   (default 16 x 32)
# QUORUM_PERSIST=no runs the nodes without persistence.
# Prints the torture's figures and the disturbances; exits as it does.
set -u
: "${DLOCK:?}"
n=${1:-16}
m=${2:-32}
shift 2 2>/dev/null || shift $#
# shellcheck source=tests/bench/quorum-servers.sh
. "$(dirname "$0")/quorum-servers.sh"

DLOCK_URL=$QURLS "$(dirname "$0")/../torture.sh" "$n" "$m" --ttl 2s "$@" \
	>"$tmp/torture.out" 2>"$tmp/torture.err" &
torture=$!

# One disturbance after another, each on a node picked at random, until
# the torture ends: the next starts only once the last is undone.
frozen=0 killed=0
while kill -0 "$torture" 2>/dev/null; do
	node=$((RANDOM % 3 + 1))
	pid=$(cat "$tmp/q$node.pid")
	case $((RANDOM % 2)) in
	0)
		kill -STOP "$pid"
		sleep 0.$((RANDOM % 8 + 2))
		kill -CONT "$pid"
		frozen=$((frozen + 1))
		;;
	1)
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		sleep 0.$((RANDOM % 5 + 1))
		qstart "$node" || break
		killed=$((killed + 1))
		;;
	esac
	sleep 0.$((RANDOM % 5 + 3))
done
wait "$torture"
status=$?
[ -n "${QUORUM_TORTURE_ERR:-}" ] && cp "$tmp/torture.err" "$QUORUM_TORTURE_ERR"
cat "$tmp/torture.out"
if [ "${QUORUM_PERSIST:-yes}" = no ]; then
	persistence="without persistence"
else
	persistence="with AOF (appendfsync always)"
fi
echo "quorum torture: 3 nodes $persistence; $frozen" \
	"freezes of 0.2-0.9 s and $killed kill -9 and restarts, one node at a time"
echo "quorum torture: messages: $(grep -c 'retrying' "$tmp/torture.err")" \
	"retries, $(grep -c '^dlock: lost' "$tmp/torture.err") leases lost," \
	"$(grep -c 'no majority' "$tmp/torture.err") without a majority"
exit "$status"
