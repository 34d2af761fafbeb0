#!/usr/bin/env bash
# Usage errors: a lease too short to hold.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

# One server, for the blocks that show that nothing was run or taken; the
# usage errors themselves come before any connection.
start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

# usage DESCRIPTION PATTERN -- DLOCK-ARGS...: dlock exits 64, with one
# "dlock: " line matching PATTERN (grep -F) and the hint line after it.
# Sets ERR to what it printed on stderr.
usage() {
	local desc=$1 pattern=$2
	shift 3
	"$DLOCK" "$@" >"$TMP/out" 2>"$TMP/err"
	local st=$?
	ERR=$(cat "$TMP/err")
	is "$desc: exit 64" 64 "$st"
	if head -n 1 "$TMP/err" | grep -qF -- "dlock: $pattern"; then
		ok "$desc: says '$pattern'"
	else
		not_ok "$desc: says '$pattern'" "got: $ERR"
	fi
	is "$desc: two lines on stderr" 2 "$(wc -l <"$TMP/err")"
	is "$desc: nothing on stdout" "" "$(cat "$TMP/out")"
}

# hint_line LINE: the second line of $ERR is LINE.
hint_line() {
	is "... and then '$1'" "$1" "$(sed -n 2p <<<"$ERR")"
}

# --- a lease too short to hold ----------------------------------------------------

for d in 1ms 500ms 999ms 0.5; do
	usage "'run --ttl $d'" \
		"--ttl: '$d' is too short; a lease must be at least 1s" \
		-- run --ttl "$d" job true
done
is "... and the lock was not taken" 0 "$(rcli r exists 'dlock:{job}')"
usage "'acquire --ttl 10ms'" "--ttl: '10ms' is too short" \
	-- acquire --ttl 10ms job
usage "'renew --ttl 10ms'" "--ttl: '10ms' is too short" \
	-- renew job --owner 0123456789abcdef0123456789abcdef --ttl 10ms
out=$("$DLOCK" run --ttl 1s job -- echo taken 2>&1)
is "'--ttl 1s', the minimum, is taken" "taken" "$out"

done_testing
