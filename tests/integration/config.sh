#!/usr/bin/env bash
# Config files: a system file the user may not read, secrets readable by
# others, FILE:LINE in messages, quotes and comments, several url lines;
# an ACL user without a password; durations such as 1m30s.
. "$(dirname "$0")/../lib.sh"

start_redis_tcp t
start_redis_tcp p --requirepass pw1
unset DLOCK_URL REDIS_URL DLOCK_PREFIX DLOCK_PASSWORD REDISCLI_AUTH DLOCK_CONFIG
export XDG_CONFIG_HOME="$TMP/xdg" HOME="$TMP/home"
# Where the system file is looked for: tests may not write /etc.
export DLOCK_TEST_SYSTEM_CONFIG="$TMP/sys/dlock.conf"
mkdir -p "$XDG_CONFIG_HOME" "$HOME" "$TMP/sys"
T="redis://127.0.0.1:$PORT_t"
P="redis://127.0.0.1:$PORT_p"

# held_on PORT NAME: 1 when lock NAME left its fence counter on the server
# (whose password, if any, is pw1).
held_on() {
	REDISCLI_AUTH=pw1 redis-cli -p "$1" exists "dlock:{$2}:fence" 2>/dev/null
}

# as_nobody COMMAND...: runs COMMAND as user nobody. The sanitizers' log
# directory is root's, so their reports go to stderr instead.
as_nobody() {
	env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u TSAN_OPTIONS \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

# ---- a system file that only root may read ----
printf 'url = %s\n' "$T" >"$DLOCK_TEST_SYSTEM_CONFIG"
chmod 600 "$DLOCK_TEST_SYSTEM_CONFIG"
"$DLOCK" run sys -- true
is "the system file is read when there is no user file" "0 1" \
	"$? $(held_on "$PORT_t" sys)"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	for t in "skipped" "skip noted" "--config" "DLOCK_CONFIG"; do
		ok "root-only system file: $t # skip needs root and setpriv"
	done
else
	chmod 711 "$TMP"	# so that nobody reaches the files below
	as_nobody "$DLOCK" --url "$T" run nobody1 -- true 2>"$TMP/err"
	is "a root-only system file does not stop another user with --url" \
		"0 1 " "$? $(held_on "$PORT_t" nobody1) $(cat "$TMP/err")"
	as_nobody "$DLOCK" run -n nobody2 -- true 2>"$TMP/err"
	st=$?
	like "... who, with no server otherwise, gets 78 ($st) saying it was skipped" \
		"$st $(cat "$TMP/err")" \
		"^78 dlock: no server given; .*; skipped $DLOCK_TEST_SYSTEM_CONFIG: Permission denied$"
	as_nobody "$DLOCK" --config "$DLOCK_TEST_SYSTEM_CONFIG" --url "$T" \
		run nobody3 -- true 2>"$TMP/err"
	st=$?
	like "... but named with --config, it is an error: 78" \
		"$st $(cat "$TMP/err")" \
		"^78 dlock: cannot read config file $DLOCK_TEST_SYSTEM_CONFIG: Permission denied"
	DLOCK_CONFIG=$DLOCK_TEST_SYSTEM_CONFIG as_nobody "$DLOCK" --url "$T" \
		run nobody4 -- true 2>"$TMP/err"
	is "... and so it is with DLOCK_CONFIG" 78 $?
	chmod 700 "$TMP"
fi
rm "$DLOCK_TEST_SYSTEM_CONFIG"

# ---- secrets that others can read ----
printf 'pw1\n' >"$TMP/pw"
chmod 640 "$TMP/pw"
"$DLOCK" --url "$P" --password-file "$TMP/pw" run grp -- true 2>"$TMP/err"
is "a group-readable (640) password file draws no warning" "0 " \
	"$? $(cat "$TMP/err")"
chmod 644 "$TMP/pw"
"$DLOCK" --url "$P" --password-file "$TMP/pw" run oth -- true 2>"$TMP/err"
is "a password file every user can read (644) draws a warning" \
	"0 dlock: warning: password file $TMP/pw is readable by every user (mode 0644); run 'chmod o-r $TMP/pw'" \
	"$? $(cat "$TMP/err")"
"$DLOCK" --url "$P" --password-file "$TMP/pw" run -q oth -- true 2>"$TMP/err"
is "... but not under -q (cron would mail it at every run)" "0 " \
	"$? $(cat "$TMP/err")"
printf 'url = %s\npassword = pw1\n' "$P" >"$TMP/pw.conf"
chmod 640 "$TMP/pw.conf"
"$DLOCK" --config "$TMP/pw.conf" run grp -- true 2>"$TMP/err"
is "a group-readable config file with a password draws no warning" "0 " \
	"$? $(cat "$TMP/err")"
chmod 604 "$TMP/pw.conf"
"$DLOCK" --config "$TMP/pw.conf" run oth -- true 2>"$TMP/err"
is "one that every user can read does, with its mode" \
	"0 dlock: warning: config file $TMP/pw.conf holds a password and is readable by every user (mode 0604); run 'chmod o-r $TMP/pw.conf'" \
	"$? $(cat "$TMP/err")"

# ---- notes: only under --verbose ----
printf 'url = %s\nurl = redis://127.0.0.1:1\n' "$T" >"$TMP/two.conf"
"$DLOCK" --config "$TMP/two.conf" run two -- true 2>"$TMP/err"
is "a second url line: used the first, said nothing" "0 " "$? $(cat "$TMP/err")"
"$DLOCK" --config "$TMP/two.conf" run --verbose two -- true 2>"$TMP/err"
like "... and with --verbose notes which file was read" "$(cat "$TMP/err")" \
	"^dlock: settings from $TMP/two.conf$"
like "... and that the second url line was ignored" "$(cat "$TMP/err")" \
	"^dlock: $TMP/two.conf:2: url ignored"

# ---- every bad value names the file and the line ----
# bad_file DESCRIPTION EXPECTED-MESSAGE LINE...: writes the lines to a
# config file and checks that run exits 78 with exactly that message.
bad_file() {
	local what=$1 want=$2
	shift 2
	printf '%s\n' "$@" >"$TMP/bad.conf"
	"$DLOCK" --config "$TMP/bad.conf" run -n bad -- true 2>"$TMP/err"
	is "$what: 78 and FILE:LINE" "78 dlock: $TMP/bad.conf:$want" \
		"$? $(cat "$TMP/err")"
}
long=$(printf 'p%.0s' $(seq 65))
bad_file "a bad prefix" "3: prefix: $(DLOCK_PREFIX=$long "$DLOCK" --url "$T" \
	run -n bad -- true 2>&1 | sed 's/^dlock: DLOCK_PREFIX: //')" \
	"url = $T" '# the prefix' "prefix = $long"
bad_file "a bad connect-timeout" "2: connect-timeout: invalid duration 'soon': it must start with a digit; use a number and an optional unit (ms, s, m, h, d), or a combination such as 1h30m: 250ms, 1.5 (seconds), 30s, 5m, 2h" \
	"url = $T" 'connect-timeout = soon'
bad_file "a bad url" "2: url: $("$DLOCK" --url "nope://x" run -n bad -- true \
	2>&1 | sed 's/^dlock: //')" '' 'url = nope://x'
bad_file "an empty url" "1: url: no URL in it" 'url = ""'
bad_file "an unreadable password-file" "2: password-file: cannot read password file $TMP/none: No such file or directory" \
	"url = $P" "password-file = $TMP/none"
bad_file "a comment after a value" "1: the value of 'url' has a '#' that starts a word; comments go on lines of their own, and a value whose '#' belongs to it goes in quotes (\"...\")" \
	"url = $T # the test server"
bad_file "an unclosed quote" "2: the value of 'password' opens a quote (\") that does not close at the end of the line; nothing may follow the closing quote, and comments go on lines of their own" \
	"url = $P" 'password = "pw1'

# ---- quotes ----
printf 'url = "%s"\npassword = '"'"'pw1'"'"'\nprefix = "q:"\n' "$P" \
	>"$TMP/quoted.conf"
chmod 600 "$TMP/quoted.conf"
"$DLOCK" --config "$TMP/quoted.conf" run quoted -- true
is "quoted values are read without their quotes" "0 1" \
	"$? $(REDISCLI_AUTH=pw1 redis-cli -p "$PORT_p" exists 'q:{quoted}:fence')"

# ---- several url lines: the first is used, as the manual says ----
start_redis_tcp u
printf 'url = %s\nurl = redis://127.0.0.1:%s\n' "$T" "$PORT_u" >"$TMP/urls.conf"
"$DLOCK" --config "$TMP/urls.conf" run twourls -- true 2>"$TMP/err"
is "of several url lines, the first is used" "0 1 0" \
	"$? $(held_on "$PORT_t" twourls) $(held_on "$PORT_u" twourls)"

# ---- an ACL user without a password ----
# With the default user off, only a client that logged in as np gets in.
start_redis_tcp n
N="redis://127.0.0.1:$PORT_n"
redis-cli -p "$PORT_n" >/dev/null <<'ACL'
acl setuser np on nopass ~* +@all
acl setuser pwuser on >pwpw ~* +@all
acl setuser default off
ACL
np_held() {
	redis-cli -p "$PORT_n" --user np --pass x --no-auth-warning \
		exists "dlock:{$1}:fence"
}
"$DLOCK" --url "$N" --user np run np1 -- true 2>"$TMP/err"
is "a nopass ACL user needs no password (--user)" "0 1 " \
	"$? $(np_held np1) $(cat "$TMP/err")"
"$DLOCK" --url "redis://np@127.0.0.1:$PORT_n" run np2 -- true 2>"$TMP/err"
is "... nor in the URL" "0 1 " "$? $(np_held np2) $(cat "$TMP/err")"
"$DLOCK" --url "$N" --user pwuser run np3 -- true 2>"$TMP/err"
is "a user that needs a password and has none: 77, saying so" \
	"77 dlock: $N refused user 'pwuser' without a password; give its password with DLOCK_PASSWORD or --password-file, or check that the user exists and is on (ACL LIST)" \
	"$? $(cat "$TMP/err")"
DLOCK_PASSWORD=pwpw "$DLOCK" --url "$N" --user pwuser run np4 -- true
is "... and with it, it works" "0 1" "$? $(np_held np4)"

# ---- durations such as 1m30s, on the command line ----
out=$("$DLOCK" --url "$T" run --ttl 1m30.5s dur -- sh -c 'echo "$DLOCK_TTL_MS"')
is "--ttl 1m30.5s is 90500 ms" 90500 "$out"
out=$("$DLOCK" --url "$T" --connect-timeout 1s500ms run --ttl 1h30m dur -- \
	sh -c 'echo "$DLOCK_TTL_MS"')
is "--ttl 1h30m is 5400000 ms" 5400000 "$out"
"$DLOCK" --url "$T" run --ttl 30m1h dur -- true 2>"$TMP/err"
like "units out of order: 64, saying so" "$? $(cat "$TMP/err")" \
	"^64 dlock: --ttl: invalid duration '30m1h': units must go from the largest to the smallest"

# A host name no resolver could find is a mistake in the settings (78),
# not a server that cannot be reached (69), and nothing is looked up.
long=$(printf 'a%.0s' $(seq 254))
for h in "$long" "bad!host" "a..b" "-lead"; do
	"$DLOCK" --url "redis://$h:6379" run -n hostcheck -- true 2>"$TMP/err"
	like "host '${h:0:12}...': 78 naming the host as invalid" \
		"$? $(cat "$TMP/err")" "^78 dlock: invalid host in URL"
done
DLOCK_URL="redis://$long" "$DLOCK" status hostcheck 2>"$TMP/err"
like "... from DLOCK_URL too, saying how long it is" "$? $(cat "$TMP/err")" \
	"^78 dlock: invalid host in URL .*254 bytes long"

done_testing
