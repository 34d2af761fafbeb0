#!/usr/bin/env bash
# dlock run: the command runs under the lock, with its environment, and the
# lock is free again as soon as it ends.
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"

out=$("$DLOCK" run k -- sh -c 'echo "$DLOCK_NAME $DLOCK_TTL_MS"; exit 7')
is "command's exit status is passed on" 7 $?
is "DLOCK_NAME and DLOCK_TTL_MS reach the command" "k 30000" "$out"

out=$("$DLOCK" run --ttl 2s k -- printenv DLOCK_TTL_MS)
is "--ttl sets DLOCK_TTL_MS" 2000 "$out"

owner=$("$DLOCK" run k -- sh -c 'echo $DLOCK_OWNER')
like "DLOCK_OWNER is 128 bits of hex" "$owner" '^[0-9a-f]{32}$'

"$DLOCK" run k -- sh -c "redis-cli -s $TMP/r.sock get 'dlock:{k}' > $TMP/held; echo \$DLOCK_OWNER > $TMP/owner"
is "the key holds DLOCK_OWNER while the command runs" \
	"$(cat "$TMP/owner")" "$(cat "$TMP/held")"

"$DLOCK" run k -- true
is "the lock is free right after the command ends" 0 \
	"$(rcli r exists 'dlock:{k}')"
is "no holder details are left behind" "" \
	"$(rcli r keys 'dlock:{k}:holder:*')"

out=$(echo piped | "$DLOCK" run k -- cat)
is "stdin passes through" piped "$out"
"$DLOCK" run k -- sh -c 'echo to-stderr >&2' 2>"$TMP/err"
is "stderr passes through" to-stderr "$(cat "$TMP/err")"

out=$(FOO=bar "$DLOCK" run k -- printenv FOO)
is "the environment passes through" bar "$out"

out=$("$DLOCK" run k -c 'echo "$0:$((6 * 7))"')
like "-c after the name runs a shell command" "$out" ':42$'
out=$("$DLOCK" run -c 'echo hi' k)
is "-c before the name works too" hi "$out"
out=$(SHELL=/bin/bash "$DLOCK" run k -c 'echo $BASH_VERSION')
like "-c uses \$SHELL" "$out" '^[0-9]'
out=$(SHELL='' "$DLOCK" run k -c 'echo fallback')
is "-c falls back to /bin/sh without \$SHELL" fallback "$out"

out=$("$DLOCK" --url "unix://$TMP/r.sock" run k -- echo g1)
is "global options before the command name" g1 "$out"
out=$(DLOCK_URL=unix:///nonexistent "$DLOCK" run --url "unix://$TMP/r.sock" k -- echo g2)
is "global options after the command name" g2 "$out"

tokens=""
for _ in 1 2 3 4 5; do
	tokens="$tokens $("$DLOCK" run k -- printenv DLOCK_TOKEN)"
done
sorted=$(printf '%s\n' $tokens | sort -n | uniq | tr '\n' ' ')
is "DLOCK_TOKEN strictly increases" "$(printf '%s\n' $tokens | tr '\n' ' ')" "$sorted"
like "DLOCK_TOKEN is a number" "$tokens" '^( [0-9]+){5}$'

rcli r del 'dlock:{k}:fence' >/dev/null
t=$("$DLOCK" run k -- printenv DLOCK_TOKEN)
last=${tokens##* }
if [ "$t" -gt "$last" ]; then
	ok "a lost fence counter restarts above the old tokens (server time)"
else
	not_ok "a lost fence counter restarts above the old tokens" "$t <= $last"
fi

"$DLOCK" --prefix other: run k -- true
is "--prefix names the keys" 1 "$(rcli r exists 'other:{k}:fence')"
DLOCK_PREFIX=env: "$DLOCK" run k -- true
is "DLOCK_PREFIX names the keys" 1 "$(rcli r exists 'env:{k}:fence')"

"$DLOCK" run --verbose k -- true 2>"$TMP/err"
like "--verbose says when the lock is taken" "$(cat "$TMP/err")" \
	"^dlock: took lock 'k'"
like "--verbose says when it is released" "$(cat "$TMP/err")" \
	"released lock 'k'"

# A lease shorter than the command: renewal keeps it.
"$DLOCK" run --ttl 1s k -- sh -c "sleep 3; redis-cli -s $TMP/r.sock get 'dlock:{k}' > $TMP/still; echo \$DLOCK_OWNER > $TMP/own"
is "a 1s lease is kept alive through a 3s command" "$(cat "$TMP/own")" \
	"$(cat "$TMP/still")"

done_testing
