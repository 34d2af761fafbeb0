#!/usr/bin/env bash
# Servers that misbehave (tests/fake_redis.py): every call ends by its
# deadline whatever the server sends (an endless reply, one byte at a time,
# a SCAN cursor that never returns to 0, a renewal answered with an endless
# stream), with 69 and a message, never a hang or a crash.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

FAKE=$(dirname "$0")/../fake_redis.py
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Generous: only a hang takes this long.
HANG=20

# fake MODE: a fake server for MODE on $TMP/fake.sock, replacing the last.
fake() {
	[ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
	rm -f "$TMP/fake.sock"
	"$PYTHON" "$FAKE" "$TMP/fake.sock" "$1" &
	FAKE_PID=$!
	track "$FAKE_PID"
	wait_until 10 test -S "$TMP/fake.sock" ||
		{ echo "Bail out! fake_redis.py did not start"; exit 1; }
}

export DLOCK_URL="unix://$TMP/fake.sock"

# ends TITLE STATUS MESSAGE-RE -- dlock ARGS...: dlock exits with STATUS
# within $HANG seconds, saying MESSAGE-RE.
ends() {
	local title=$1 want=$2 re=$3 start
	shift 4
	start=$(now_ms)
	"$DLOCK" "$@" 2>"$TMP/err" >/dev/null &
	local pid=$!
	wait_exit "$HANG" "$pid"
	is "$title: exit $want" "$want" "$WAIT_STATUS"
	like "$title: says why ($(( $(now_ms) - start )) ms)" "$(cat "$TMP/err")" "$re"
}

# A fast stream fills the reply bound first, a slow one meets the deadline.
for mode in endless drip; do
	case $mode in
	endless) LATE="a reply of over 16 MiB|did not answer in time" ;;
	drip) LATE="did not answer in time" ;;
	esac
	fake "$mode"
	ends "$mode: run -n" 69 "$LATE" -- --connect-timeout 1s run -n k -- true
	ends "$mode: run -w 3s" 69 "$LATE" -- --connect-timeout 1s run -w 3s k -- true
	ends "$mode: status" 69 "$LATE" -- --connect-timeout 1s status k
	ends "$mode: acquire -n" 69 "$LATE" -- --connect-timeout 1s acquire -n k
	ends "$mode: renew" 69 "$LATE" -- --connect-timeout 1s renew k \
		--owner 0123456789abcdef0123456789abcdef
	ends "$mode: release" 69 "$LATE" -- --connect-timeout 1s release k \
		--owner 0123456789abcdef0123456789abcdef
	ends "$mode: list" 69 "$LATE" -- --connect-timeout 1s list
done

# A reply too large to be an answer is refused before the deadline.
fake endless
ends "endless, long deadline" 69 "a reply of over 16 MiB" -- \
	--connect-timeout 60s status k

fake scan_forever
ends "a SCAN cursor that does not move" 69 "SCAN cursor of .* did not move" -- list
# 100,000 calls or 60 s, whichever comes first: a longer bound for this one.
fake scan_counting
HANG=90 ends "a SCAN cursor that never returns to 0" 69 "cursor never came back to 0" -- list
fake scan_long_cursor
ends "a SCAN cursor of 40 digits" 69 "unexpected reply to SCAN" -- list

# Replies of the wrong type, arity or range: 69, and nothing runs unprotected.
OWNER=0123456789abcdef0123456789abcdef
BAD="unexpected reply|refused|not Redis protocol"
for reply in '-ERR everything\r\n' '-NOSCRIPT No matching script\r\n' \
	'$3\r\nabc\r\n' ':7\r\n' '$-1\r\n' '*-1\r\n'; do
	fake "reply:$reply"
	ends "list, answered $reply" 69 "$BAD" -- list
	ends "status, answered $reply" 69 "$BAD" -- status k
done
fake 'reply::5\r\n'
ends "renew answered 5 (no such outcome)" 69 "unexpected reply" -- renew k --owner "$OWNER"
ends "release answered 5" 69 "unexpected reply" -- release k --owner "$OWNER"
fake 'reply:*3\r\n:1\r\n:7\r\n:9\r\n'
rm -f "$TMP/ran"
ends "run -n on a taken-reply of three elements" 69 "unexpected reply" -- \
	run -n k -- touch "$TMP/ran"
[ -e "$TMP/ran" ] && not_ok "the command ran on a malformed acquire reply" ||
	ok "... and the command did not run"
fake 'reply:*13\r\n:0\r\n:5000\r\n$3\r\nabc\r\n$1\r\nh\r\n$2\r\n-5\r\n$1\r\nu\r\n:10\r\n$1\r\nc\r\n:0\r\n:-1\r\n:0\r\n$1\r\nx\r\n:-1\r\n'
ends "a busy reply naming pid -5" 69 "unexpected reply" -- run -n k -- true
unlike "... is not shown as a holder" "$(cat "$TMP/err")" "pid -5"
fake 'reply:*1\r\n:5\r\n'
ends "release --force answered a malformed holder" 69 "unexpected reply" -- \
	release k --force

# The acquire is answered, every renewal gets an endless stream: the lease
# is lost at its local end, and the command is told.
fake acq_then_endless
rm -f "$TMP/started"
start=$(now_ms)
"$DLOCK" --connect-timeout 1s run --ttl 2s --kill-after 1s k -- \
	sh -c "touch $TMP/started; sleep 30" 2>"$TMP/err" &
pid=$!
wait_exit "$HANG" "$pid"
elapsed=$(( $(now_ms) - start ))
is "renewals answered without end: exit 75" 75 "$WAIT_STATUS"
like "... the lease was lost, not renewed (${elapsed} ms)" "$(cat "$TMP/err")" \
	"lost lock 'k': no renewal succeeded in time"
[ "$elapsed" -lt 10000 ] && ok "... within the lease and --kill-after (${elapsed} ms)" ||
	not_ok "the holder ran on past its lease" "$elapsed ms"

done_testing
