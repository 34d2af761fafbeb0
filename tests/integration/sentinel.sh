#!/bin/bash
# SPDX-License-Identifier: MIT
# Redis behind Sentinel: a master, a replica and three sentinels, all real
# processes on private ports. Discovery, contention, WAIT confirmation, the
# replica message of a plain URL, doctor, and a failover under a holder:
# it keeps the lock or is told (75), the next run finds the new master,
# and tokens jump by the epoch.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# Debian packages it apart from redis-server.
if ! command -v redis-sentinel >/dev/null 2>&1; then
	echo "Bail out! redis-sentinel is not installed (apt-get install redis-sentinel)"
	exit 1
fi

start_redis_tcp m --appendonly no
start_redis_tcp r --replicaof 127.0.0.1 "$PORT_m"

# start_sentinel NAME: a sentinel of master svc on a free port; sets
# SPORT_<NAME> and SPID_<NAME>. Sentinels rewrite their config file: it lives in $TMP.
# sentinel_up PORT PID: the sentinel on PORT is process PID, not another
# test's server on the same port (true too once PID died: stop waiting).
sentinel_up() {
	kill -0 "$2" 2>/dev/null || return 0
	redis-cli -p "$1" ${3:+-a "$3" --no-auth-warning} info server \
		2>/dev/null | tr -d '\r' | grep -qx "process_id:$2"
}

# start_sentinel NAME [PASSWORD CONFIG]: with PASSWORD, requirepass and
# the sentinel config lines CONFIG instead of those of master svc.
start_sentinel() {
	local name=$1 pass=${2:-} port
	local conf=${3:-"sentinel monitor svc 127.0.0.1 $PORT_m 2
sentinel down-after-milliseconds svc 1000
sentinel failover-timeout svc 4000"}
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		cat >"$TMP/$name.conf" <<EOF
port $port
bind 127.0.0.1
dir $TMP
logfile $TMP/$name.log
${pass:+requirepass $pass}
$conf
EOF
		redis-sentinel "$TMP/$name.conf" >/dev/null 2>&1 &
		local pid=$!
		if wait_until 10 sentinel_up "$port" "$pid" "$pass" &&
			kill -0 "$pid" 2>/dev/null; then
			track "$pid"
			eval "SPORT_$name=$port SPID_$name=$pid"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "Bail out! no free port for redis-sentinel $name"
	exit 1
}

start_sentinel s1
start_sentinel s2
start_sentinel s3
SENTINELS="127.0.0.1:$SPORT_s1,127.0.0.1:$SPORT_s2,127.0.0.1:$SPORT_s3"
URL="redis+sentinel://$SENTINELS/svc"
export DLOCK_URL="$URL"

# Each sentinel sees the replica and the two other sentinels; the replica
# is in sync.
sentinels_ready() {
	local p
	redis-cli -p "$PORT_m" info replication | grep -q '^slave0:.*state=online' ||
		return 1
	for p in "$SPORT_s1" "$SPORT_s2" "$SPORT_s3"; do
		redis-cli -p "$p" sentinel replicas svc | grep -qx "$PORT_r" ||
			return 1
		[ "$(redis-cli -p "$p" sentinel master svc |
			sed -n '/^num-other-sentinels$/{n;p}')" = 2 ] || return 1
	done
}
wait_until 30 sentinels_ready || echo "# the sentinels did not settle"

master_port() {
	redis-cli -p "$SPORT_s1" sentinel get-master-addr-by-name svc | sed -n 2p
}

# --- discovery ---------------------------------------------------------------

OUT=$("$DLOCK" run disc -- sh -c \
	"redis-cli -p $PORT_m get 'dlock:{disc}'; echo \"\$DLOCK_OWNER\"" 2>&1)
STATUS=$?
is "run through the sentinels: exit 0" 0 "$STATUS"
is "run through the sentinels: the key is on the master" \
	"$(printf '%s\n' "$OUT" | sed -n 2p)" "$(printf '%s\n' "$OUT" | sed -n 1p)"

OUT=$("$DLOCK" --url "redis+sentinel://127.0.0.1:$(unused_port),$SENTINELS/svc" \
	run disc2 -- true 2>&1)
is "a dead sentinel first in the list: the next one answers" 0 "$?"

OUT=$("$DLOCK" --url "redis+sentinel://$SENTINELS/nosuch" run x -- true 2>&1)
STATUS=$?
is "an unknown SERVICE: exit 78" 78 "$STATUS"
like "an unknown SERVICE: says so" "$OUT" "monitors no master named 'nosuch'"

# --- contention ----------------------------------------------------------------

"$DLOCK" run busy -- sh -c "touch $TMP/busy.up; while [ ! -e $TMP/busy.stop ]; do sleep 0.02; done" &
HOLDER=$!
track $HOLDER
wait_until 20 test -e "$TMP/busy.up"
OUT=$("$DLOCK" run -n busy -- true 2>&1)
is "-n while held through the sentinels: exit 1" 1 "$?"
touch "$TMP/busy.stop"
wait_exit 20 $HOLDER
is "the holder ends: exit 0" 0 "$WAIT_STATUS"

# --- WAIT: replicas confirm writes ---------------------------------------------

OWNER=$("$DLOCK" acquire --ttl 1m held)
"$DLOCK" --connect-timeout 1s run --ttl 2s --kill-after 0 --wait-replicas 1 \
	lost -- sh -c "touch $TMP/lost.up; sleep 30" >"$TMP/lost.out" 2>&1 &
HOLDER=$!
track $HOLDER
wait_until 20 test -e "$TMP/lost.up"
kill -STOP "$REDIS_PID_r"
START=$(date +%s%N)
wait_exit 30 $HOLDER
ELAPSED=$((($(date +%s%N) - START) / 1000000))
is "renewals no replica confirms: the lease is lost, exit 75" 75 "$WAIT_STATUS"
[ "$ELAPSED" -lt 10000 ] && ok "lost within the lease (${ELAPSED} ms)" ||
	not_ok "lost within the lease" "took ${ELAPSED} ms"
like "the loss names the replicas" "$(cat "$TMP/lost.out")" \
	"lost lock 'lost': no renewal succeeded in time \\(last error: .*replicas"
START=$(date +%s%N)
OUT=$("$DLOCK" --connect-timeout 2s run --wait-replicas 1 -n wt -- true 2>&1)
STATUS=$?
ELAPSED=$((($(date +%s%N) - START) / 1000000))
is "a stopped replica, --wait-replicas 1: exit 69" 69 "$STATUS"
like "a stopped replica: the message says why" "$OUT" \
	"0 of the 1 replicas asked for confirmed the take.*released"
[ "$ELAPSED" -lt 8000 ] && ok "within the deadline (${ELAPSED} ms)" ||
	not_ok "within the deadline" "took ${ELAPSED} ms"
is "the unconfirmed take was released" 0 \
	"$(redis-cli -p "$PORT_m" exists 'dlock:{wt}')"
"$DLOCK" --connect-timeout 2s run --wait-replicas 0 -n wt -- true
is "a stopped replica, --wait-replicas 0: exit 0" 0 "$?"
OUT=$("$DLOCK" --connect-timeout 1s renew held --owner "$OWNER" \
	--wait-replicas 1 2>&1)
is "a stopped replica: dlock renew --wait-replicas 1: exit 69" 69 "$?"
like "a stopped replica: the renewal was not confirmed" "$OUT" \
	"confirmed the renewal"
kill -CONT "$REDIS_PID_r"

# --- a plain URL to the replica --------------------------------------------------

OUT=$("$DLOCK" --url "redis://127.0.0.1:$PORT_r" run rep -- true 2>&1)
STATUS=$?
is "run on a replica: exit 69" 69 "$STATUS"
like "run on a replica: names its master" "$OUT" \
	"is a replica of 127\\.0\\.0\\.1:$PORT_m; .*redis\\+sentinel://"
OUT=$("$DLOCK" --url "redis://127.0.0.1:$PORT_r" doctor 2>&1)
STATUS=$?
is "doctor on a replica: exit 69" 69 "$STATUS"
like "doctor on a replica: names its master" "$OUT" \
	"this is a replica of 127\\.0\\.0\\.1:$PORT_m; use redis\\+sentinel://"

# --- doctor through the sentinels ----------------------------------------------

OUT=$("$DLOCK" doctor 2>&1)
like "doctor: the sentinels agree" "$OUT" \
	"^ok    sentinels: 3 of 3 answered; master 127\\.0\\.0\\.1:$PORT_m .*quorum 2, down-after-milliseconds 1000, 2 other sentinels"
like "doctor: the replica" "$OUT" "^ok    replicas: 1 connected"
like "doctor: min-replicas-to-write" "$OUT" "min-replicas-to-write is 0"
like "doctor: the master's checks" "$OUT" "^ok    scripts: "

# --- the sentinels' own credentials ----------------------------------------------

# A fourth sentinel with a password, of its own name for the same master
# (the others ignore its hellos); stopped before the failover.
start_sentinel s4 spw "sentinel monitor svc4 127.0.0.1 $PORT_m 1
sentinel down-after-milliseconds svc4 60000"
SP=$SPORT_s4 S4=$SPID_s4
URL4="redis+sentinel://127.0.0.1:$SP/svc4"
OUT=$("$DLOCK" --url "$URL4" run cred -- true 2>&1)
is "a sentinel with a password, none given: exit 77" 77 "$?"
like "... names the sentinels' settings" "$OUT" \
	"DLOCK_SENTINEL_PASSWORD or --sentinel-password-file"
OUT=$(DLOCK_SENTINEL_PASSWORD=spw "$DLOCK" --url "$URL4" run cred -- \
	sh -c 'echo "pw=${DLOCK_SENTINEL_PASSWORD:-unset}"' 2>&1)
is "DLOCK_SENTINEL_PASSWORD: exit 0" 0 "$?"
is "... the command does not get it" "pw=unset" "$OUT"
printf 'spw\n' >"$TMP/spw"
chmod 644 "$TMP/spw"
OUT=$("$DLOCK" --url "$URL4" --sentinel-password-file "$TMP/spw" run cred \
	-- true 2>&1)
is "--sentinel-password-file: exit 0" 0 "$?"
like "... a file every user can read is warned about" "$OUT" \
	"password file $TMP/spw is readable by every user"
chmod 600 "$TMP/spw"
printf 'url = %s\nsentinel-password-file = %s\n' "$URL4" "$TMP/spw" \
	>"$TMP/conf"
OUT=$(env -u DLOCK_URL "$DLOCK" --config "$TMP/conf" run cred -- true 2>&1)
is "the config file's url and sentinel-password-file: exit 0" 0 "$?"
is "... and nothing said" "" "$OUT"
printf 'url = %s\n' "$URL" >"$TMP/conf2"
OUT=$(env -u DLOCK_URL "$DLOCK" --config "$TMP/conf2" run cred -- true 2>&1)
is "a url line with three sentinels: exit 0" 0 "$?"
s4_gone() { ! kill -0 $S4 2>/dev/null; }
disown $S4
kill -9 $S4
wait_until 10 s4_gone

# --- a failover under a holder ----------------------------------------------------

BEFORE=$("$DLOCK" run fence -- sh -c 'echo "$DLOCK_TOKEN"')
"$DLOCK" run --ttl 3s --kill-after 1s fo -- sh -c "
	trap 'touch $TMP/fo.told; exit 1' TERM
	touch $TMP/fo.up
	while [ ! -e $TMP/fo.stop ]; do sleep 0.02; done
	touch $TMP/fo.ended" >"$TMP/fo.out" 2>&1 &
HOLDER=$!
track $HOLDER
wait_until 20 test -e "$TMP/fo.up"
# A replica that was stopped a moment ago is no good to promote until the
# sentinels have heard from it again (NOGOODSLAVE): ask until one starts.
start_failover() {
	redis-cli -p "$SPORT_s1" sentinel failover svc | grep -qx OK ||
		redis-cli -p "$SPORT_s1" sentinel failover svc |
		grep -q INPROG
}
wait_until 30 start_failover || echo "# no failover started"
promoted() { [ "$(master_port)" = "$PORT_r" ]; }
wait_until 30 promoted
is "the sentinels promoted the replica" "$PORT_r" "$(master_port)"
"$DLOCK" run -w 30s fo -- sh -c "
	if [ -e $TMP/fo.ended ] || [ -e $TMP/fo.told ]; then echo clean
	else echo overlap; fi" >"$TMP/fo2.out" 2>"$TMP/fo2.err" &
SECOND=$!
track $SECOND
# The second waits in the new master's queue, or the holder lost the lock.
second_waits() {
	[ "$(redis-cli -p "$PORT_r" llen 'dlock:{fo}:queue')" -ge 1 ] ||
		! kill -0 $HOLDER 2>/dev/null
}
wait_until 30 second_waits
touch "$TMP/fo.stop"
wait_exit 30 $HOLDER
case $WAIT_STATUS in
0 | 75) ok "through the failover the holder kept the lock or was told ($WAIT_STATUS)" ;;
*) not_ok "holder through the failover" "exit $WAIT_STATUS" "$(cat "$TMP/fo.out")" ;;
esac
wait_exit 40 $SECOND
is "the second holder: exit 0" 0 "$WAIT_STATUS"
is "never two unknowing holders" clean "$(cat "$TMP/fo2.out")"

OUT=$("$DLOCK" run after -- sh -c \
	"redis-cli -p $PORT_r get 'dlock:{after}'; echo \"\$DLOCK_OWNER\"" 2>&1)
is "after the failover: exit 0" 0 "$?"
is "after the failover: the key is on the new master" \
	"$(printf '%s\n' "$OUT" | sed -n 2p)" "$(printf '%s\n' "$OUT" | sed -n 1p)"

AFTER=$("$DLOCK" run fence -- sh -c 'echo "$DLOCK_TOKEN"')
if [ -n "$BEFORE" ] && [ -n "$AFTER" ] &&
	[ $((AFTER - BEFORE)) -ge 4294967296 ]; then
	ok "tokens jump by the epoch across the failover ($BEFORE -> $AFTER)"
else
	not_ok "tokens jump by the epoch" "before: $BEFORE" "after: $AFTER"
fi

done_testing
