#!/usr/bin/env bash
# TLS: rediss:// URLs against TLS-only redis-servers, with certificates
# made here: verification against --tls-ca, host names and
# --tls-server-name, client certificates (options and config file), wrong
# ports, a handshake that never ends, no password in messages, and OpenSSL
# loaded only for rediss://.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
# shellcheck disable=SC2154 # PORT_<name> comes from start_redis_tcp/_tls
. "$(dirname "$0")/../lib.sh"

unset DLOCK_OWNER DLOCK_PASSWORD REDISCLI_AUTH DLOCK_CONFIG DLOCK_URL DLOCK_PREFIX
export XDG_CONFIG_HOME="$TMP/xdg"	# no user config file

# --- Certificates ----------------------------------------------------------

C="$TMP/certs"
mkdir "$C"

# newkey FILE: a P-256 private key (quick to make, unlike RSA).
newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>>"$C/openssl.log"
}

# mkca NAME CN: a self-signed CA, NAME.crt and NAME.key.
mkca() {
	newkey "$C/$1.key" &&
	openssl req -x509 -new -key "$C/$1.key" -out "$C/$1.crt" -days 2 \
		-subj "/CN=$2" 2>>"$C/openssl.log"
}

# mkleaf NAME CN EXTENSIONS: a key and a certificate signed by ca.
mkleaf() {
	printf '%s\n' "$3" >"$C/$1.ext"
	newkey "$C/$1.key" &&
	openssl req -new -key "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$2" \
		2>>"$C/openssl.log" &&
	openssl x509 -req -in "$C/$1.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" \
		-CAcreateserial -out "$C/$1.crt" -days 2 -extfile "$C/$1.ext" \
		>>"$C/openssl.log" 2>&1
}

# The server certificate names localhost only, not 127.0.0.1, so that
# rediss://127.0.0.1 is a host name mismatch.
if ! { mkca ca dlock-test-ca && mkca other dlock-other-ca &&
	mkleaf server localhost \
		"$(printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth')" &&
	mkleaf client dlock-client \
		"extendedKeyUsage=clientAuth"; }; then
	echo "Bail out! openssl could not make the certificates" \
		"($(tail -n 3 "$C/openssl.log"))"
	exit 1
fi
CA="$C/ca.crt"
CERT="$C/client.crt"
KEY="$C/client.key"

# --- Servers ---------------------------------------------------------------

# tcli PORT ARGS...: redis-cli over TLS, with the client certificate.
tcli() {
	local port=$1
	shift
	redis-cli --tls --cacert "$CA" --cert "$CERT" --key "$KEY" \
		-h localhost -p "$port" "$@"
}

tls_up() {
	kill -0 "$2" 2>/dev/null || return 0	# died: stop waiting
	tcli "$1" ping 2>/dev/null | grep -Eq '^(PONG|NOAUTH)'
}

# start_redis_tls NAME [redis-server options...]: a TLS-only server on a
# free loopback port. Sets PORT_<NAME>.
start_redis_tls() {
	local name=$1 port pid
	shift
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		redis-server --port 0 --tls-port "$port" --bind 127.0.0.1 \
			--tls-cert-file "$C/server.crt" \
			--tls-key-file "$C/server.key" \
			--tls-ca-cert-file "$CA" --tls-auth-clients no \
			--save '' --appendonly no --dir "$TMP" \
			--dbfilename "$name.rdb" --appendfilename "$name.aof" \
			--logfile "$TMP/$name.log" \
			"$@" >/dev/null 2>&1 &
		pid=$!
		if wait_until 10 tls_up "$port" "$pid" &&
			kill -0 "$pid" 2>/dev/null; then
			track "$pid"
			eval "PORT_$name=$port"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "Bail out! TLS redis-server $name did not start" \
		"($(tail -n 3 "$TMP/$name.log" 2>/dev/null))"
	exit 1
}

start_redis_tls t				# any client
start_redis_tls m --tls-auth-clients yes	# client certificates required
start_redis_tls a --requirepass other		# a password
start_redis_tcp p				# plain TCP

# The setup itself: the TLS server answers over TLS only.
is "setup: the TLS server answers redis-cli --tls" PONG \
	"$(redis-cli --tls --cacert "$CA" -h localhost -p "$PORT_t" ping 2>&1)"
is "setup: the mTLS server answers with a client certificate" PONG \
	"$(tcli "$PORT_m" ping 2>&1)"
unlike "setup: the mTLS server refuses a client without one" \
	"$(redis-cli --tls --cacert "$CA" -h localhost -p "$PORT_m" ping 2>&1)" \
	'^PONG$'

# dl ARGS...: runs dlock, stdout to $TMP/out, stderr to $TMP/err. Sets ST
# (exit status; 137 when it hung and was killed after 10 s) and MS (elapsed
# milliseconds).
dl() {
	local start
	start=$(date +%s%N)
	# (in a subshell, whose stderr takes bash's "Killed" notice)
	ST=$( { timeout -s KILL 10 "$DLOCK" "$@" >"$TMP/out" 2>"$TMP/err"
		echo $?; } 2>/dev/null)
	MS=$(( ($(date +%s%N) - start) / 1000000 ))
}

# refused DESCRIPTION: ST is neither 0 nor a hang, stderr has a message.
refused() {
	if [ "$ST" -ne 0 ] && [ "$ST" -ne 137 ]; then
		ok "$1: refused (exit $ST, ${MS} ms)"
	elif [ "$ST" -eq 137 ]; then
		not_ok "$1: refused" "dlock hung; killed after ${MS} ms"
	else
		not_ok "$1: refused" "got exit 0"
	fi
	like "$1: with a message" "$(head -n 1 "$TMP/err")" '^dlock: '
}

# unavailable_or_config DESCRIPTION: ST is 69 or 78 (DESIGN section 2);
# says which.
unavailable_or_config() {
	case $ST in
	69 | 78) ok "$1: exit $ST (69 or 78)" ;;
	*) not_ok "$1: exit 69 or 78" "got: $ST" "stderr: $(cat "$TMP/err")" ;;
	esac
}

T="rediss://localhost:$PORT_t"

# --- 1. A verified connection -----------------------------------------------

dl --url "$T" --tls-ca "$CA" run k -- printenv DLOCK_NAME
is "rediss:// with --tls-ca: exit 0" 0 "$ST"
is "... the command ran" k "$(cat "$TMP/out")"
is "... nothing on stderr" "" "$(cat "$TMP/err")"

dl --url "$T" --tls-ca "$CA" run k -- sh -c \
	"redis-cli --tls --cacert '$CA' -h localhost -p $PORT_t get 'dlock:{k}' >$TMP/held; echo \$DLOCK_OWNER"
is "rediss://: exit 0 again" 0 "$ST"
like "... the command saw an owner" "$(cat "$TMP/out")" '^[0-9a-f]{32}$'
is "... the lock was taken on the TLS server" "$(cat "$TMP/out")" \
	"$(cat "$TMP/held")"
is "... and released" 0 "$(tcli "$PORT_t" exists 'dlock:{k}')"
is "... with no holder details left" "" "$(tcli "$PORT_t" keys 'dlock:{k}:holder:*')"

# --- 2. Certificates not trusted --------------------------------------------

rm -f "$TMP/ran"
dl --url "$T" --tls-ca "$C/other.crt" run k -- touch "$TMP/ran"
unavailable_or_config "a CA that did not sign the server's certificate"
echo "# wrong CA: dlock exited $ST: $(head -n 1 "$TMP/err")"
like "... the message is about the certificate" "$(head -n 1 "$TMP/err")" \
	'^dlock: .*[Cc]ertificate'
test -e "$TMP/ran" && not_ok "... the command did not run" ||
	ok "... the command did not run"

# Reading the whole system store is slow under ASan on a busy machine:
# the handshake gets time to fail on the certificate, not on the clock.
dl --connect-timeout 8s --url "$T" run k -- touch "$TMP/ran"
unavailable_or_config "no --tls-ca: the system store does not trust the test CA"
like "... the message is about the certificate" "$(head -n 1 "$TMP/err")" \
	'^dlock: .*[Cc]ertificate'
test -e "$TMP/ran" && not_ok "... the command did not run" ||
	ok "... the command did not run"

dl --url "$T" --tls-ca "$TMP/no-such-ca.pem" run k -- true
is "a --tls-ca file that does not exist: 78" 78 "$ST"
like "... named in the message" "$(head -n 1 "$TMP/err")" \
	"^dlock: .*$TMP/no-such-ca.pem"

# --- 3. Host names ----------------------------------------------------------

dl --url "rediss://127.0.0.1:$PORT_t" --tls-ca "$CA" run k -- touch "$TMP/ran"
unavailable_or_config "127.0.0.1 is not a name in the certificate"
like "... the message is about the name" "$(head -n 1 "$TMP/err")" \
	'^dlock: .*([Nn]ame|[Hh]ost|IP address)'
unlike "... and does not blame the CA, which is the right one" \
	"$(head -n 1 "$TMP/err")" 'give its CA'
test -e "$TMP/ran" && not_ok "... the command did not run" ||
	ok "... the command did not run"

dl --url "rediss://127.0.0.1:$PORT_t" --tls-ca "$CA" \
	--tls-server-name localhost run k -- printenv DLOCK_NAME
is "--tls-server-name localhost fixes it" 0 "$ST"
is "... the command ran" k "$(cat "$TMP/out")"

dl --url "$T" --tls-ca "$CA" --tls-server-name wrong.example run k -- true
unavailable_or_config "--tls-server-name is the name verified, not the URL's host"
like "... the message is about the name" "$(head -n 1 "$TMP/err")" \
	'^dlock: .*([Nn]ame|[Hh]ost)'
unlike "... and does not blame the CA, which is the right one" \
	"$(head -n 1 "$TMP/err")" 'give its CA'

printf 'url = rediss://127.0.0.1:%s\ntls-ca = %s\ntls-server-name = localhost\n' \
	"$PORT_t" "$CA" >"$TMP/sni.conf"
dl --config "$TMP/sni.conf" run k -- true
is "config keys tls-ca and tls-server-name" 0 "$ST"

# --- 4. Client certificates -------------------------------------------------

M="rediss://localhost:$PORT_m"
rm -f "$TMP/ran"
dl --url "$M" --tls-ca "$CA" run k -- touch "$TMP/ran"
refused "no client certificate"
echo "# no client certificate: dlock exited $ST: $(head -n 1 "$TMP/err")"
test -e "$TMP/ran" && not_ok "... the command did not run" ||
	ok "... the command did not run"

dl --url "$M" --tls-ca "$CA" --tls-cert "$CERT" --tls-key "$KEY" \
	run k -- printenv DLOCK_NAME
is "--tls-cert and --tls-key: exit 0" 0 "$ST"
is "... the command ran" k "$(cat "$TMP/out")"

printf 'url = %s\ntls-ca = %s\ntls-cert = %s\ntls-key = %s\n' \
	"$M" "$CA" "$CERT" "$KEY" >"$TMP/tls.conf"
dl --config "$TMP/tls.conf" run k -- printenv DLOCK_NAME
is "config keys tls-ca, tls-cert, tls-key: exit 0" 0 "$ST"
is "... the command ran" k "$(cat "$TMP/out")"

# --- 5. and 6. TLS and plain ports mixed up ----------------------------------

dl --url "redis://127.0.0.1:$PORT_t" run k -- true
is "redis:// to a TLS port: 69 (137: hung)" 69 "$ST"
like "... with a message" "$(head -n 1 "$TMP/err")" '^dlock: '
[ "$MS" -lt 10000 ] && ok "... fast (${MS} ms)" || not_ok "... fast" "$MS ms"

dl --url "rediss://localhost:$PORT_p" --tls-ca "$CA" run k -- true
is "rediss:// to a plain port: 69" 69 "$ST"
like "... the message suggests it is not a TLS port" "$(head -n 1 "$TMP/err")" \
	'^dlock: .*TLS'
[ "$MS" -lt 10000 ] && ok "... fast (${MS} ms)" || not_ok "... fast" "$MS ms"

# --- 7. A handshake that never completes ------------------------------------

silent_server
sport=$SILENT_PORT
dl --connect-timeout 500ms --url "rediss://localhost:$sport" --tls-ca "$CA" \
	run -n k -- true
is "a silent TLS server: 69" 69 "$ST"
like "... with a message" "$(head -n 1 "$TMP/err")" '^dlock: '
[ "$MS" -ge 450 ] && [ "$MS" -lt 10000 ] &&
	ok "... gave up after --connect-timeout (${MS} ms)" ||
	not_ok "... gave up after --connect-timeout" "$MS ms"

# --- 8. Passwords, status and list ------------------------------------------

A="rediss://localhost:$PORT_a"
DLOCK_PASSWORD=s3cret-pw dl --url "$A" --tls-ca "$CA" run k -- true
is "a wrong password over TLS: 77" 77 "$ST"
like "... with a message" "$(head -n 1 "$TMP/err")" '^dlock: '
unlike "... the password is not in the output" \
	"$(cat "$TMP/out" "$TMP/err")" 's3cret-pw'

dl --url "rediss://:s3cret-pw@localhost:$PORT_t" --tls-ca "$C/other.crt" \
	run k -- true
unavailable_or_config "a password in the URL, a wrong CA"
unlike "... the password is not in the output" \
	"$(cat "$TMP/out" "$TMP/err")" 's3cret-pw'

DLOCK_PASSWORD=s3cret-pw dl --url "$M" --tls-ca "$CA" run -n k -- true
refused "a password, no client certificate (-n)"
unlike "... the password is not in the output" \
	"$(cat "$TMP/out" "$TMP/err")" 's3cret-pw'

export DLOCK_PASSWORD=other
DLOCK_URL="$A" "$DLOCK" --tls-ca "$CA" run held -- sh -c \
	"touch $TMP/h.started; while [ ! -e $TMP/h.stop ]; do sleep 0.02; done" &
hpid=$!
track "$hpid"
wait_until 10 test -e "$TMP/h.started" ||
	not_ok "a holder over TLS with a password started"
dl --url "$A" --tls-ca "$CA" status held
is "dlock status over TLS: 0 (held)" 0 "$ST"
like "... shows the lock" "$(cat "$TMP/out")" 'held'
dl --url "$A" --tls-ca "$CA" status free
is "dlock status over TLS: 1 (free)" 1 "$ST"
dl --url "$A" --tls-ca "$CA" list
is "dlock list over TLS: 0" 0 "$ST"
like "... lists the held lock" "$(cat "$TMP/out")" '(^|[^a-z])held([^a-z]|$)'
touch "$TMP/h.stop"
wait_exit 10 "$hpid"
is "the holder over TLS ends normally" 0 "$WAIT_STATUS"
unset DLOCK_PASSWORD

# --- 9. OpenSSL is loaded for rediss:// only --------------------------------

# maps_while TAG ARGS...: runs dlock ARGS... run k -- (a command that waits),
# prints dlock's /proc/PID/maps while the command runs, then lets it end.
maps_while() {
	local tag=$1 pid
	shift
	"$DLOCK" "$@" run k -- sh -c \
		"touch $TMP/$tag.started; while [ ! -e $TMP/$tag.stop ]; do sleep 0.02; done" &
	pid=$!
	track "$pid"
	wait_until 10 test -e "$TMP/$tag.started" && cat "/proc/$pid/maps"
	touch "$TMP/$tag.stop"
	wait_exit 10 "$pid"
}

maps=$(maps_while plain --url "redis://127.0.0.1:$PORT_p")
like "plain redis://: dlock's maps were read" "$maps" 'libc[.-]'
unlike "plain redis://: libssl is not loaded" "$maps" 'libssl'
unlike "plain redis://: libcrypto is not loaded" "$maps" 'libcrypto'

maps=$(maps_while tls --url "$T" --tls-ca "$CA")
like "rediss://: dlock's maps were read" "$maps" 'libc[.-]'
like "rediss://: libssl is loaded" "$maps" 'libssl'

"$DLOCK" --url "$T" --tls-ca "$CA" --tls-cert "$CERT" run -n k -- true 2>"$TMP/err"
is "--tls-cert without --tls-key is a configuration error (78)" 78 $?
like "... saying they go together" "$(cat "$TMP/err")" "go together"

done_testing
