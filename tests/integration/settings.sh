#!/usr/bin/env bash
# Where settings come from: option > environment > config file > default
# (none for the server);
# URL forms, database selection, and the config file lookup.
. "$(dirname "$0")/../lib.sh"

start_redis a
start_redis b
start_redis_tcp t
unset DLOCK_URL REDIS_URL DLOCK_PREFIX DLOCK_PASSWORD REDISCLI_AUTH DLOCK_CONFIG
export XDG_CONFIG_HOME="$TMP/xdg" HOME="$TMP/home"
mkdir -p "$XDG_CONFIG_HOME/dlock" "$HOME"

# which: runs dlock with the given settings and says which server held
# the lock (a or b), by the fence key it left there.
which() {
	rcli a flushall >/dev/null
	rcli b flushall >/dev/null
	"$@" run k -- true || return
	if [ "$(rcli a exists 'dlock:{k}:fence')" = 1 ]; then
		echo a
	elif [ "$(rcli b exists 'dlock:{k}:fence')" = 1 ]; then
		echo b
	else
		echo none
	fi
}

A="unix://$TMP/a.sock"
B="unix://$TMP/b.sock"
printf 'url = %s\n' "$B" >"$XDG_CONFIG_HOME/dlock/config"

is "the XDG config file is read" b "$(which "$DLOCK")"
is "REDIS_URL beats the config file" a "$(REDIS_URL=$A which "$DLOCK")"
is "DLOCK_URL beats REDIS_URL" b "$(REDIS_URL=$A DLOCK_URL=$B which "$DLOCK")"
is "--url beats DLOCK_URL" a "$(DLOCK_URL=$B which "$DLOCK" --url "$A")"
is "an empty DLOCK_URL is ignored" a "$(DLOCK_URL='' REDIS_URL=$A which "$DLOCK")"

printf 'url = %s\n' "$A" >"$TMP/other.conf"
is "DLOCK_CONFIG beats the XDG file" a "$(DLOCK_CONFIG=$TMP/other.conf which "$DLOCK")"
printf 'url = %s\n' "$B" >"$TMP/third.conf"
is "--config beats DLOCK_CONFIG" b \
	"$(DLOCK_CONFIG=$TMP/other.conf which "$DLOCK" --config "$TMP/third.conf")"

rm "$XDG_CONFIG_HOME/dlock/config"
mkdir -p "$HOME/.config/dlock"
printf '# a comment\n\n  url   =   %s  \n' "$A" >"$HOME/.config/dlock/config"
is "without XDG_CONFIG_HOME, ~/.config/dlock/config is read" a \
	"$(unset XDG_CONFIG_HOME; which "$DLOCK")"
rm -r "$HOME/.config/dlock"

port=$(unused_port)
"$DLOCK" --url "redis://127.0.0.1:$port" run k -- true 2>"$TMP/err"
like "the default is not used when a URL is given" "$(cat "$TMP/err")" ":$port"
rm -f "$TMP/ran"
HOME=$TMP/none XDG_CONFIG_HOME=$TMP/none \
	DLOCK_TEST_SYSTEM_CONFIG=$TMP/none/dlock.conf \
	"$DLOCK" run -n k -- touch "$TMP/ran" 2>"$TMP/err"
is "no server from anywhere: 78, not a default of 127.0.0.1:6379" 78 $?
like "... saying how to set one" "$(cat "$TMP/err")" \
	"^dlock: no server given; set DLOCK_URL=redis://host:6379, give --url, or put 'url = redis://host:6379' in ~/.config/dlock/config or $TMP/none/dlock.conf$"
is "... and running nothing" no "$(test -e "$TMP/ran" && echo yes || echo no)"

# Prefix: option > environment > file.
printf 'url = %s\nprefix = file:\n' "$A" >"$TMP/p.conf"
"$DLOCK" --config "$TMP/p.conf" run k -- true
is "the config file sets the prefix" 1 "$(rcli a exists 'file:{k}:fence')"
DLOCK_PREFIX=env: "$DLOCK" --config "$TMP/p.conf" run k -- true
is "DLOCK_PREFIX beats the config file" 1 "$(rcli a exists 'env:{k}:fence')"
DLOCK_PREFIX=env: "$DLOCK" --config "$TMP/p.conf" --prefix opt: run k -- true
is "--prefix beats DLOCK_PREFIX" 1 "$(rcli a exists 'opt:{k}:fence')"
DLOCK_PREFIX='' "$DLOCK" --url "$A" run k -- true
is "an empty prefix is allowed" 1 "$(rcli a exists '{k}:fence')"

# TCP, databases, IPv4 and names.
T="redis://127.0.0.1:$PORT_t"
"$DLOCK" --url "$T/3" run k -- true
is "redis://host:port/db selects the database" 1 \
	"$(redis-cli -p "$PORT_t" -n 3 exists 'dlock:{k}:fence')"
is "... and not database 0" 0 "$(redis-cli -p "$PORT_t" exists 'dlock:{k}:fence')"
"$DLOCK" --url "redis://localhost:$PORT_t" run k2 -- true
is "host names are resolved" 1 "$(redis-cli -p "$PORT_t" exists 'dlock:{k2}:fence')"
"$DLOCK" --url "unix://$TMP/a.sock?db=2" run k3 -- true
is "unix:///path?db=N selects the database" 1 "$(rcli a -n 2 exists 'dlock:{k3}:fence')"

# Passwords and users from the config file.
redis-cli -p "$PORT_t" config set requirepass pw1 >/dev/null
printf 'url = %s\npassword = pw1\n' "$T" >"$TMP/pw.conf"
chmod 600 "$TMP/pw.conf"
"$DLOCK" --config "$TMP/pw.conf" run k -- true 2>"$TMP/err"
is "the config file's password authenticates" 0 $?
is "a private config file draws no warning" "" "$(cat "$TMP/err")"
chmod 644 "$TMP/pw.conf"
"$DLOCK" --config "$TMP/pw.conf" run k -- true 2>"$TMP/err"
like "a readable config file with a password draws a warning" \
	"$(cat "$TMP/err")" "holds a password and is readable by every user"
printf 'pw1\n' >"$TMP/pwfile"
chmod 600 "$TMP/pwfile"
printf 'url = %s\npassword-file = %s\n' "$T" "$TMP/pwfile" >"$TMP/pwf.conf"
"$DLOCK" --config "$TMP/pwf.conf" run k -- true
is "the config file's password-file authenticates" 0 $?
DLOCK_PASSWORD=pw1 "$DLOCK" --config "$TMP/pw.conf" run k -- true 2>/dev/null
is "DLOCK_PASSWORD works next to a config password" 0 $?
printf 'url = %s\npassword = wrong\n' "$T" >"$TMP/wrong.conf"
chmod 600 "$TMP/wrong.conf"
DLOCK_PASSWORD=pw1 "$DLOCK" --config "$TMP/wrong.conf" run k -- true
is "DLOCK_PASSWORD beats the config file's password" 0 $?
"$DLOCK" --url "redis://:pw1@127.0.0.1:$PORT_t" run k -- true 2>"$TMP/err"
is "a password in the URL authenticates" 0 $?
like "... and draws a warning about the process list" "$(cat "$TMP/err")" \
	"^dlock: warning: the password in --url redis://:\*\*\*@127.0.0.1:$PORT_t"
unlike "... without showing the password" "$(cat "$TMP/err")" pw1
DLOCK_URL="redis://:pw1@127.0.0.1:$PORT_t" "$DLOCK" run k -- true 2>"$TMP/err"
is "a password in DLOCK_URL draws no warning" "" "$(cat "$TMP/err")"
"$DLOCK" --url "redis://:nope@127.0.0.1:$PORT_t" run k -- true 2>"$TMP/err"
unlike "a wrong URL password is not echoed" "$(cat "$TMP/err")" nope

"$DLOCK" --url "$A" --url "$B" run k -- true 2>"$TMP/err"
is "two URLs: refused (a quorum needs three)" 64 $?
like "... saying why" "$(cat "$TMP/err")" "quorum mode needs at least 3 servers"

done_testing
