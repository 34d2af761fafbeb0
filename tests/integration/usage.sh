#!/usr/bin/env bash
# Usage errors that meet habits from flock(1) and typos with a hint: run's
# options after NAME, flock's forms without "run", flock's -o and -u, a
# mistyped command, a lease too short to hold; each says what to type, and
# points at the --help of the command at hand (DESIGN.md section 1).
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

# --- run's options after NAME ----------------------------------------------

# The word after NAME is not the command, and nothing runs.
rm -f "$TMP/ran"
usage "'run job -n -- cmd'" \
	"options of run go before NAME: dlock run -n job -- touch $TMP/ran" \
	-- run job -n -- touch "$TMP/ran"
hint_line "Try 'dlock run --help'."
[ ! -e "$TMP/ran" ]
is "... and the command did not run" 0 $?
is "... and the lock was not taken" 0 "$(rcli r exists 'dlock:{job}')"

usage "'run job -n cmd' (no --)" \
	"options of run go before NAME: dlock run -n job true" \
	-- run job -n true
usage "several options and values after NAME, the ones before kept" \
	"options of run go before NAME: dlock run --ttl 5s -q -w 10s job echo hi" \
	-- run --ttl 5s job -q -w 10s echo hi
usage "'--opt=value' and a short cluster after NAME" \
	"options of run go before NAME: dlock run --ttl=5s -nq job true" \
	-- run job --ttl=5s -nq true
usage "a connection option after NAME" \
	"options of run go before NAME: dlock run --prefix p: job true" \
	-- run job --prefix p: true
usage "the corrected line is quoted for the shell" \
	"options of run go before NAME: dlock --prefix p: run -n job -- sh -c 'echo '\\''hi'\\'''" \
	-- --prefix p: run job -n -- sh -c "echo 'hi'"
usage "'acquire job -n'" \
	"options of acquire go before NAME: dlock acquire -n job" \
	-- acquire job -n
hint_line "Try 'dlock acquire --help'."

# flock's "NAME -c STRING" stays, and so does a command after "--".
out=$("$DLOCK" run job -c 'echo shell' 2>&1)
is "'run job -c STRING' still runs STRING" "shell" "$out"
# shellcheck disable=SC2016 # $0 is the inner shell's
out=$("$DLOCK" run -n job -- sh -c 'printf "%s\n" "$0"' -n 2>&1)
is "an option-like word after -- and the command is the command's" "-n" "$out"
usage "an option before -c after NAME is misplaced" \
	"options of run go before NAME: dlock run -n job -c true" \
	-- run job -n -c true

# --- run's --help ------------------------------------------------------------

like "'dlock run --help' says the options come before NAME" \
	"$("$DLOCK" run --help | tr '\n' ' ')" 'options come before NAME'

# --- flock's forms ------------------------------------------------------------

usage "'dlock -n job cmd' (flock's order)" \
	"'-n' is an option of run, which goes first: dlock run -n job true" \
	-- -n job true
hint_line "Try 'dlock --help'."
usage "'dlock -w 5 job cmd', connection options kept" \
	"'-w' is an option of run, which goes first: dlock --prefix p: run -w 5 job true" \
	-- --prefix p: -w 5 job true
usage "'dlock -q status job' (an option before its command)" \
	"'-q' is an option of status, and goes after it: dlock status -q job" \
	-- -q status job
usage "'dlock -n run job cmd'" \
	"'-n' is an option of run, and goes after it: dlock run -n job true" \
	-- -n run job true
usage "'dlock job cmd' (no command word)" \
	"unknown command 'job'; to run a command under lock 'job': dlock run job true" \
	-- job true
usage "flock's -o" "flock's -o/--close has nothing to do with dlock" \
	-- run -o job true
hint_line "Try 'dlock run --help'."
usage "flock's --close" "flock's -o/--close has nothing to do with dlock" \
	-- run --close job true
usage "flock's -u" "flock's -u/--unlock has no dlock form" -- run -u job true
usage "flock's --unlock" "flock's -u/--unlock has no dlock form" \
	-- run --unlock job true
like "... and names the dlock equivalent" "$ERR" "'dlock acquire' and 'dlock release'"

# --- mistyped commands ---------------------------------------------------------

usage "'dlock rn'" "unknown command 'rn'; did you mean 'run'?" -- rn job true
usage "'dlock stauts' (swapped letters)" \
	"unknown command 'stauts'; did you mean 'status'?" -- stauts job
usage "'dlock lst'" "unknown command 'lst'; did you mean 'list'?" -- lst
usage "'dlock relase'" "unknown command 'relase'; did you mean 'release'?" \
	-- relase job --force
usage "'dlock hlep'" "unknown command 'hlep'; did you mean 'help'?" -- hlep
usage "a word far from every command" "unknown command 'frobnicate'" \
	-- frobnicate
is "... with nothing more" "dlock: unknown command 'frobnicate'" \
	"$(head -n 1 <<<"$ERR")"

out=$("$DLOCK" help help 2>&1)
is "'dlock help help' exits 0" 0 $?
is "'dlock help help' is 'dlock --help'" "$("$DLOCK" --help)" "$out"

# --- usage errors point at the command's own --help ------------------------------

usage "an unknown option of status" "unknown option '--bogus'" \
	-- status --bogus job
hint_line "Try 'dlock status --help'."
usage "release without a token" "release needs --owner TOKEN" -- release job
hint_line "Try 'dlock release --help'."
usage "before any command" "unknown option '--bogus'" -- --bogus run job true
hint_line "Try 'dlock --help'."

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
