#!/usr/bin/env bash
# The Lua scripts embedded at build time: their SHA-1s are the ones a real
# redis-server computes for the texts dlock sends, and the complete texts
# that "make scripts" writes for redis-cli --eval are those very bytes.
. "$(dirname "$0")/../lib.sh"

SCRIPTS=$(dirname "$DLOCK")/scripts
NAMES="acquire force_release inspect leave release renew"

start_redis a
export DLOCK_URL="unix://$TMP/a.sock"

job_held() {
	[ "$(rcli a exists 'dlock:{job}')" = 1 ]
}

# every_script: runs each of the six scripts at least once; the lock is
# free again at the end.
every_script() {
	local tok pid
	tok=$("$DLOCK" acquire --ttl 10s job) || return	# acquire
	"$DLOCK" renew job --owner "$tok" || return		# renew
	"$DLOCK" status job >/dev/null || return		# inspect
	"$DLOCK" run -w 0.2 job -- true 2>/dev/null		# leave, on time-out
	[ $? = 1 ] || return
	"$DLOCK" release job --owner "$tok" || return		# release
	"$DLOCK" run job -- sleep 30 2>/dev/null &
	pid=$!
	wait_until 20 job_held || return
	"$DLOCK" release job --force >/dev/null 2>&1 || return	# force_release
	kill "$pid"
	wait "$pid" 2>/dev/null
	return 0
}

# eval_calls: how many EVALs the server ran since its statistics were reset.
eval_calls() {
	rcli a info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_eval:calls=\([0-9]*\),.*/\1/p' | grep . || echo 0
}

files=""
for n in $NAMES; do
	[ -s "$SCRIPTS/$n.lua" ] && files="$files $n"
done
is "make scripts wrote every complete script to $SCRIPTS" " $NAMES" "$files"

every_script
is "a fresh server learns every script (EVAL after NOSCRIPT)" 0 $?
missing=""
for n in $NAMES; do
	sha=$(sha1sum <"$SCRIPTS/$n.lua")
	[ "$(rcli a script exists "${sha%% *}")" = 1 ] || missing="$missing $n"
done
is "the server knows each script by the SHA-1 of its file in $SCRIPTS" \
	"" "$missing"

rcli a config resetstat >/dev/null
every_script
is "the same operations again succeed" 0 $?
is "... by EVALSHA alone: each embedded SHA-1 is what the server computed" \
	0 "$(eval_calls)"

differ=""
for n in $NAMES; do
	sha=$(sha1sum <"$SCRIPTS/$n.lua")
	loaded=$(rcli a -x script load <"$SCRIPTS/$n.lua")
	[ "$loaded" = "${sha%% *}" ] || differ="$differ $n:$loaded"
done
is "SCRIPT LOAD of each file gives the SHA-1 the build computed" "" "$differ"

tok=$("$DLOCK" acquire job)
out=$(redis-cli -s "$TMP/a.sock" --eval "$SCRIPTS/inspect.lua" \
	'dlock:{job}' 'dlock:{job}:holders' 'dlock:{job}:kind' \
	'dlock:{job}:queue' 'dlock:{job}:waiters' 2>&1)
like "a script runs by hand with redis-cli --eval" "$out" "$tok"

done_testing
