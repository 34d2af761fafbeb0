#!/usr/bin/env bash
# Exit statuses and messages for bad input, unreachable servers and
# refused authentication (DESIGN.md section 2).
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

# expect DESCRIPTION STATUS PATTERN -- DLOCK-ARGS...: runs dlock, checks
# the status and that stderr matches PATTERN and starts with "dlock: ".
expect() {
	local desc=$1 want=$2 pattern=$3
	shift 4
	"$DLOCK" "$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	is "$desc: exit $want" "$want" "$got"
	like "$desc: message" "$(head -n 1 "$TMP/err")" "^dlock: .*$pattern"
}

expect "unknown option" 64 "unknown option '--bogus'" -- run --bogus k true
like "usage errors point at the command's --help" "$(cat "$TMP/err")" \
	"Try 'dlock run --help'"
expect "unknown short option" 64 "unknown option '-Z'" -- run -Z k true
expect "missing value" 64 "'--ttl' needs a value" -- run --ttl
expect "no command" 64 "no command given" --
expect "unknown command" 64 "unknown command 'frob'" -- frob
expect "run without a name" 64 "no lock name" -- run
expect "run without a command" 64 "no command given after 'k'" -- run k
expect "-c and a command" 64 "either -c STRING or a COMMAND" -- run -c 'true' k echo
expect "-c twice" 64 "-c takes one string" -- run k -c 'true' extra
expect "-F" 64 "must stay alive to renew" -- run -F k true
expect "bad -E" 64 "-E: invalid number '256'" -- run -E 256 k true
expect "junk -E" 64 "-E: invalid number 'x'" -- run -E x k true

for d in 0 -1 abc 1x 1.5.2 '' 99999999999999999999 9000h; do
	expect "--ttl '$d'" 64 "--ttl: invalid duration '$d'" -- run --ttl "$d" k true
done
expect "-w negative" 64 "-w: invalid duration '-1'" -- run -w -1 k true
expect "--connect-timeout 0" 64 "invalid duration '0'" -- \
	--connect-timeout 0 run k true

long=$(printf 'x%.0s' $(seq 201))
expect "name too long" 64 "201 bytes long; the limit is 200" -- run "$long" true
expect "name with a brace" 64 "invalid lock name 'a{b'" -- run 'a{b' true
expect "name with a space" 64 "invalid lock name 'a b'" -- run 'a b' true
expect "empty name" 64 "lock name is empty" -- run '' true
"$DLOCK" run "$(printf 'y%.0s' $(seq 200))" -- true
is "a 200-byte name is fine" 0 $?
"$DLOCK" run 'a.b_c-d:e/f@g+h=i' -- true
is "names take . _ - : / @ + =" 0 $?
expect "bad prefix" 64 "invalid key prefix 'a}'" -- --prefix 'a}' run k true
DLOCK_PREFIX='sp ace' "$DLOCK" run k -- true 2>"$TMP/err"
is "bad DLOCK_PREFIX: exit 64" 64 $?
like "bad DLOCK_PREFIX: named" "$(cat "$TMP/err")" "DLOCK_PREFIX: invalid key prefix"

# Configuration errors: 78.
expect "bad URL scheme" 78 "unsupported URL 'http://x'" -- --url http://x run k true
expect "bad port" 78 "invalid port in URL" -- --url redis://127.0.0.1:99999 run k true
expect "bad db" 78 "invalid database number" -- --url redis://127.0.0.1/x run k true
expect "relative unix path" 78 "absolute socket path" -- --url unix://r.sock run k true
expect "missing password file" 78 "cannot read password file $TMP/none" -- \
	--password-file "$TMP/none" run k true
: >"$TMP/empty"
expect "empty password file" 78 "password file $TMP/empty is empty" -- \
	--password-file "$TMP/empty" run k true
expect "missing --config" 78 "cannot read config file $TMP/none" -- \
	--config "$TMP/none" run k true
printf 'url = unix://%s\nbogus = 1\n' "$TMP/r.sock" >"$TMP/bad.conf"
expect "unknown config key" 78 "bad.conf:2: unknown key 'bogus'" -- \
	--config "$TMP/bad.conf" run k true
printf 'just words\n' >"$TMP/bad2.conf"
expect "config line without =" 78 "bad2.conf:1: expected 'key = value'" -- \
	--config "$TMP/bad2.conf" run k true
printf 'connect-timeout = soon\n' >"$TMP/bad3.conf"
expect "bad duration in config" 78 "connect-timeout: invalid duration 'soon'" -- \
	--config "$TMP/bad3.conf" run k true
expect "db out of range" 78 "no such database" -- \
	--url "unix://$TMP/r.sock?db=99" run k true

# Unreachable: 69, quickly.
port=$(unused_port)
start=$(date +%s%N)
expect "connection refused" 69 "cannot connect to redis://127.0.0.1:$port.*Connection refused" -- \
	--url "redis://127.0.0.1:$port" run k true
expect "no socket" 69 "cannot connect to unix://$TMP/nosock" -- \
	--url "unix://$TMP/nosock" run k true
expect "unknown host" 69 "cannot resolve host 'no-such-host.invalid'" -- \
	--url redis://no-such-host.invalid run k true
expect "no server, plain wait" 69 "cannot connect" -- \
	--url "redis://127.0.0.1:$port" run k true
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -lt 15000 ] && ok "unreachable servers fail fast (${elapsed} ms for 4)" ||
	not_ok "unreachable servers were slow" "$elapsed ms"

# A server that accepts and never answers: the request deadline holds.
silent_server
sport=$SILENT_PORT
start=$(date +%s%N)
expect "silent server" 69 "did not answer in time" -- \
	--connect-timeout 500ms --url "redis://127.0.0.1:$sport" run -n k true
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -ge 450 ] && [ "$elapsed" -lt 10000 ] &&
	ok "silent server: gave up after the deadline (${elapsed} ms)" ||
	not_ok "silent server: wrong timing" "$elapsed ms"

# Authentication: 77.
start_redis auth --requirepass 's3cret'
A="unix://$TMP/auth.sock"
expect "no password" 77 "requires a password.*DLOCK_PASSWORD" -- --url "$A" run k true
DLOCK_PASSWORD=wrong "$DLOCK" --url "$A" run k -- true 2>"$TMP/err"
is "wrong password: exit 77" 77 $?
like "wrong password: message" "$(cat "$TMP/err")" "^dlock: .*wrong user name or password"
unlike "wrong password: not echoed" "$(cat "$TMP/err")" "wrong[^ ]"
DLOCK_PASSWORD=s3cret "$DLOCK" --url "$A" run k -- true
is "DLOCK_PASSWORD authenticates" 0 $?
REDISCLI_AUTH=s3cret "$DLOCK" --url "$A" run k -- true
is "REDISCLI_AUTH authenticates" 0 $?
printf 's3cret\n' >"$TMP/pw"
chmod 600 "$TMP/pw"
"$DLOCK" --url "$A" --password-file "$TMP/pw" run k -- true 2>"$TMP/err"
is "--password-file authenticates" 0 $?
is "a private password file draws no warning" "" "$(cat "$TMP/err")"
chmod 644 "$TMP/pw"
"$DLOCK" --url "$A" --password-file "$TMP/pw" run k -- true 2>"$TMP/err"
like "a world-readable password file draws a warning" "$(cat "$TMP/err")" \
	"^dlock: warning: password file .* is readable by every user"
DLOCK_PASSWORD=wrong "$DLOCK" --url "$A" --password-file "$TMP/pw" run k -- true 2>/dev/null
is "--password-file beats DLOCK_PASSWORD" 0 $?
"$DLOCK" --url "unix://:s3cret@$TMP/auth.sock" run k -- true 2>/dev/null
is "unix URLs take no password: 78" 78 $?

rcli auth -a s3cret --no-auth-warning acl setuser alice on '>alicepw' '~*' '+@all' >/dev/null
DLOCK_PASSWORD=alicepw "$DLOCK" --url "$A" --user alice run k -- true
is "--user authenticates an ACL user" 0 $?
DLOCK_PASSWORD=nope "$DLOCK" --url "$A" --user alice run k -- true 2>"$TMP/err"
is "wrong ACL password: 77" 77 $?
like "wrong ACL password names the user" "$(cat "$TMP/err")" "refused user 'alice'"
rcli auth -a s3cret --no-auth-warning acl setuser bob on '>bobpw' '~other:*' '+@all' >/dev/null
"$DLOCK" --url "$A" --user alice run k -- true 2>"$TMP/err"
is "a user without a password that needs one: 77" 77 $?
like "... saying so" "$(cat "$TMP/err")" \
	"refused user 'alice' without a password; give its password"
DLOCK_PASSWORD=bobpw "$DLOCK" --url "$A" --user bob run k -- true 2>"$TMP/err"
is "an ACL user without rights on the prefix: 77" 77 $?
like "... with a message naming the user" "$(cat "$TMP/err")" "user 'bob' may not"

done_testing
