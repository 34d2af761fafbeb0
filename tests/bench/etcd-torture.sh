#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The mutual exclusion torture (tests/torture.sh) on a 3-member etcd
# cluster whose leader is killed with -9 and restarted at random while the
# contenders run: there must be no overlap, an exact counter, and tokens
# (create revisions) that strictly increase in order of entry.
#
#   etcd-torture.sh [N [M [DLOCK-RUN-OPTIONS...]]]   (default 8 x 40)
# The lease is 10 s: a shorter one may run out while the members elect a
# new leader (1 to 3 s here), and a holder would rightly give up.
# Prints the torture's figures and the disturbances; exits as it does.
set -u
: "${DLOCK:?}"
n=${1:-8}
m=${2:-40}
shift 2 2>/dev/null || shift $#
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

if ! have_etcd; then
	echo "etcd torture: etcd is not installed; nothing measured"
	exit 0
fi
start_etcd_cluster c 3

DLOCK_URL=$ETCD_CLUSTER_URL "$(dirname "$0")/../torture.sh" "$n" "$m" \
	--ttl 10s "$@" >"$TMP/torture.out" 2>"$TMP/torture.err" &
torture=$!
track "$torture"

# Kill the leader, let the others elect one, start it again on its data,
# let it catch up; again and again at random moments until the end.
kills=0 elections_ms=""
while kill -0 "$torture" 2>/dev/null; do
	sleep 0.$((RANDOM % 9 + 1))
	leader=$(etcd_leader c 3) || continue
	eval "pid=\$ETCD_PID_$leader"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t0=$(date +%s%N)
	wait_until 30 etcd_leader c 3 "$leader" >/dev/null
	elections_ms="$elections_ms $(( ($(date +%s%N) - t0) / 1000000 ))"
	kills=$((kills + 1))
	sleep 0.$((RANDOM % 9 + 1))
	restart_etcd_member "$leader"
	wait_until 60 sh -c "ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:\$0 --command-timeout 1s endpoint health >/dev/null 2>&1" \
		"$(eval "echo \$ETCD_CPORT_$leader")"
done
wait "$torture"
status=$?
cat "$TMP/torture.out"
echo "etcd torture: 3 members, the leader killed with -9 and restarted" \
	"$kills times; new leader after (ms):$elections_ms"
echo "etcd torture: messages: $(grep -c 'retrying' "$TMP/torture.err")" \
	"retries, $(grep -c '^dlock: lost' "$TMP/torture.err") leases lost"
[ -n "${ETCD_TORTURE_ERR:-}" ] && cp "$TMP/torture.err" "$ETCD_TORTURE_ERR"
exit "$status"
