#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The etcd backend against real etcd servers started here: run and its
# exit statuses, tokens that are the key's create revision, both ways of
# exclusion with etcdctl lock, FIFO through watches, a waiter killed with
# -9, a frozen server, a 3-member cluster losing its leader under a
# holder, status/list/doctor, the scripts' calls, and the errors.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

if ! have_etcd; then
	echo "ok 1 # SKIP etcd is not installed (apt-get install etcd-server etcd-client)"
	echo "1..1"
	exit 0
fi

start_etcd e1
URL=$ETCD_URL_e1
export DLOCK_URL=$URL
unset DLOCK_PREFIX

# keys NAME: how many keys lock NAME has (holder and waiters).
keys() {
	ectl e1 get --prefix "$1/" --keys-only | grep -c .
}

# has_keys NAME N: whether lock NAME has N keys now.
has_keys() {
	[ "$(keys "$1")" -eq "$2" ]
}

# revs NAME: the create revisions of lock NAME's keys, oldest first.
revs() {
	ectl e1 get --prefix "$1/" -w json | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
print(" ".join(str(k["create_revision"]) for k in
      sorted(r.get("kvs", []), key=lambda k: k["create_revision"])))'
}

# hold NAME [OPTIONS]: a background dlock holder of NAME whose command has
# started; it runs until $TMP/release.NAME exists. Its pid is in HOLDER.
hold() {
	local name=$1
	shift
	rm -f "$TMP/started.$name" "$TMP/release.$name"
	"$DLOCK" run "$@" "$name" -- sh -c "echo \$DLOCK_TOKEN > $TMP/started.$name; while [ ! -e $TMP/release.$name ]; do sleep 0.02; done" \
		2>"$TMP/holder.$name.err" &
	HOLDER=$!
	track "$HOLDER"
	wait_until 20 test -s "$TMP/started.$name" ||
		not_ok "the holder of $name did not start" \
			"$(cat "$TMP/holder.$name.err")"
}

# --- run, exit statuses, tokens --------------------------------------------

out=$("$DLOCK" run k -- sh -c 'echo "$DLOCK_NAME $DLOCK_TOKEN"' 2>&1)
like "run on etcd runs the command with DLOCK_NAME and DLOCK_TOKEN" "$out" \
	'^k [0-9]+$'
"$DLOCK" run k -- sh -c 'exit 7'
is "the command's exit status is run's" 7 "$?"
is "nothing is left under k/ afterwards" 0 "$(keys k)"

"$DLOCK" run k -- sh -c "echo \$DLOCK_TOKEN > $TMP/tok1; ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:$ETCD_CPORT_e1 get --prefix k/ -w json > $TMP/kv1"
rev1=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["kvs"][0]["create_revision"])' "$TMP/kv1")
is "DLOCK_TOKEN is the create revision of the lock key" "$rev1" \
	"$(cat "$TMP/tok1")"
key1=$("$PYTHON" -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["kvs"][0]["key"]).decode())' "$TMP/kv1")
like "the key is k/<lease id in hex>, as etcdctl lock's" "$key1" '^k/[0-9a-f]+$'
"$DLOCK" run k -- sh -c "echo \$DLOCK_TOKEN > $TMP/tok2"
[ "$(cat "$TMP/tok2")" -gt "$(cat "$TMP/tok1")" ] &&
	ok "tokens grow from one holder to the next" ||
	not_ok "tokens grow from one holder to the next" \
		"$(cat "$TMP/tok1") then $(cat "$TMP/tok2")"

out=$("$DLOCK" --prefix locks/ run p -- sh -c "ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:$ETCD_CPORT_e1 get --prefix '' --keys-only | grep '^locks/'")
like "with --prefix, the key is PREFIX NAME/<lease hex>, as etcdctl lock PREFIX NAME's" \
	"$out" '^locks/p/[0-9a-f]+$'

# --- etcdctl lock holding ---------------------------------------------------

rm -f "$TMP/e.held" "$TMP/e.release" "$TMP/e.ran"
ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_CPORT_e1" lock x -- \
	sh -c "touch $TMP/e.held; while [ ! -e $TMP/e.release ]; do sleep 0.02; done" \
	>/dev/null 2>&1 &
ETCDCTL=$!
track "$ETCDCTL"
wait_until 20 test -e "$TMP/e.held" || not_ok "etcdctl lock did not start"
out=$("$DLOCK" run -n x -- true 2>&1)
is "etcdctl lock holding: dlock run -n exits 1" 1 "$?"
like "... saying the holder left no details" "$out" 'left no details'
is "... and leaves no key behind" 1 "$(keys x)"
"$DLOCK" run -w 20s x -- touch "$TMP/e.ran" 2>"$TMP/x.err" &
W=$!
track "$W"
wait_until 20 has_keys x 2 ||
	not_ok "dlock run -w did not queue behind etcdctl lock"
[ ! -e "$TMP/e.ran" ] && ok "dlock run -w waits while etcdctl lock holds" ||
	not_ok "dlock run -w waits while etcdctl lock holds"
touch "$TMP/e.release"
wait_exit 20 "$W"
is "... and runs once etcdctl lets go" "0 yes" \
	"$WAIT_STATUS $([ -e "$TMP/e.ran" ] && echo yes)"
wait_exit 20 "$ETCDCTL"

# --- dlock holding: etcdctl lock waits ---------------------------------------

hold y
rm -f "$TMP/y.got"
ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_CPORT_e1" lock y -- \
	touch "$TMP/y.got" >/dev/null 2>&1 &
ETCDCTL=$!
track "$ETCDCTL"
wait_until 20 has_keys y 2 ||
	not_ok "etcdctl lock did not queue behind dlock"
[ ! -e "$TMP/y.got" ] && ok "dlock holding: etcdctl lock waits" ||
	not_ok "dlock holding: etcdctl lock waits"
touch "$TMP/release.y"
wait_exit 20 "$HOLDER"
is "the dlock holder exits 0" 0 "$WAIT_STATUS"
wait_exit 20 "$ETCDCTL"
is "... and etcdctl lock runs its command then" "0 yes" \
	"$WAIT_STATUS $([ -e "$TMP/y.got" ] && echo yes)"

# --- FIFO ---------------------------------------------------------------------

hold f
: >"$TMP/order"
for i in 1 2 3 4 5 6; do
	"$DLOCK" run -w 60s f -- sh -c "echo $i >> $TMP/order" \
		2>"$TMP/f.$i.err" &
	eval "F_$i=$!"
	track "$!"
	wait_until 20 has_keys f $((i + 1)) ||
		not_ok "waiter $i did not join the queue"
done
touch "$TMP/release.f"
for i in 1 2 3 4 5 6; do
	eval "wait_exit 30 \$F_$i"
done
is "six waiters run in the order they arrived" "1 2 3 4 5 6" \
	"$(tr '\n' ' ' <"$TMP/order" | sed 's/ $//')"
is "nothing is left under f/" 0 "$(keys f)"

# --- -E, --max-hold, a wait longer than the waiter's lease -------------------

hold e
"$DLOCK" run -n -E 42 e -- true 2>/dev/null
is "-n -E 42 on a held lock exits 42" 42 "$?"
rm -f "$TMP/e.late"
"$DLOCK" run -w 60s --ttl 2s --lock-delay 0 e -- touch "$TMP/e.late" \
	2>"$TMP/e.late.err" &
WL=$!
track "$WL"
wait_until 20 has_keys e 2 ||
	not_ok "the waiter did not queue"
queued=$(ectl e1 get --prefix e/ --keys-only | grep . | tail -n 1)
# Three of its 2 s leases: still queued then, it kept its lease alive.
t_end=$(( $(date +%s) + 6 ))
wait_until 30 sh -c "[ \$(date +%s) -ge $t_end ]"
is "a waiter keeps its 2 s lease alive while it waits 6 s: same key" \
	"$queued" "$(ectl e1 get --prefix e/ --keys-only | grep . | tail -n 1)"
touch "$TMP/release.e"
wait_exit 20 "$WL"
is "... and then runs" "0 yes" \
	"$WAIT_STATUS $([ -e "$TMP/e.late" ] && echo yes)"
"$DLOCK" run --max-hold 1s mh -- sleep 30 2>"$TMP/mh.err"
is "--max-hold 1s stops the command: 75" 75 "$?"
like "... saying so" "$(cat "$TMP/mh.err")" 'max-hold'
is "... and lets the lock go" 0 "$(keys mh)"

# --- a waiter killed with -9 leaves the queue with its lease -----------------

hold w
"$DLOCK" run -w 60s --ttl 2s --lock-delay 0 w -- touch "$TMP/w.1" 2>"$TMP/w1.err" &
W1=$!
track "$W1"
wait_until 20 has_keys w 2 ||
	not_ok "waiter 1 did not queue"
"$DLOCK" run -w 60s w -- touch "$TMP/w.2" 2>"$TMP/w2.err" &
W2=$!
track "$W2"
wait_until 20 has_keys w 3 ||
	not_ok "waiter 2 did not queue"
kill -9 "$W1"
wait "$W1" 2>/dev/null
touch "$TMP/release.w"
wait_exit 30 "$W2"
is "the waiter behind one killed with -9 runs once its lease ends" \
	"0 yes no" "$WAIT_STATUS $([ -e "$TMP/w.2" ] && echo yes) $([ -e "$TMP/w.1" ] && echo yes || echo no)"
wait_until 20 has_keys w 0
is "... and the killed waiter's key is gone" 0 "$(keys w)"

# --- shared locks ---------------------------------------------------------------

hold sh -s
"$DLOCK" run -n -s sh -- true
is "-s: a second reader gets in beside the first" 0 "$?"
"$DLOCK" run -n sh -- true 2>/dev/null
is "-x is kept out by a reader: 1" 1 "$?"
rm -f "$TMP/sh.e" "$TMP/sh.r"
ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_CPORT_e1" lock sh -- \
	touch "$TMP/sh.e" >/dev/null 2>&1 &
SW=$!
track "$SW"
wait_until 20 has_keys sh 2 ||
	not_ok "etcdctl lock did not queue behind the reader"
[ ! -e "$TMP/sh.e" ] && ok "etcdctl lock waits for a dlock reader" ||
	not_ok "etcdctl lock waits for a dlock reader"
"$DLOCK" run -n -s sh -- touch "$TMP/sh.r" 2>/dev/null
is "a reader after a waiting writer does not get in: 1" "1 no" \
	"$? $([ -e "$TMP/sh.r" ] && echo yes || echo no)"
json=$("$DLOCK" status sh --json)
like "status shows a shared holder" "$json" '"mode":"shared"'
touch "$TMP/release.sh"
wait_exit 20 "$HOLDER"
wait_exit 20 "$SW"
is "the writer runs once the reader lets go" "0 yes" \
	"$WAIT_STATUS $([ -e "$TMP/sh.e" ] && echo yes)"

# --- status, list, scripts' calls, release --force ----------------------------

hold st
out=$("$DLOCK" status st)
like "status names the holder's host and command" "$out" "$(hostname)"
json=$("$DLOCK" status st --json)
like "status --json gives the token, the key's create revision" "$json" \
	"\"token\":\"$(cat "$TMP/started.st")\""
out=$("$DLOCK" list)
like "list shows the held lock" "$out" 'st'
unlike "... and only held ones" "$out" '(^|[^a-z])k([^a-z]|$)'
"$DLOCK" release st --force >/dev/null 2>&1
is "release --force revokes the holder's lease" "0 0" "$? $(keys st)"
wait_exit 30 "$HOLDER"
is "... and the holder finds out at its next renewal: 75" 75 "$WAIT_STATUS"

owner=$("$DLOCK" acquire --ttl 5s ac)
is "acquire prints an owner token of 32 hex digits" 32 "${#owner}"
"$DLOCK" renew ac --owner "$owner"
is "renew by owner token" 0 "$?"
"$DLOCK" renew ac --owner "$owner" --ttl 60s 2>"$TMP/renew.err"
is "renew cannot lengthen an etcd lease: 64" 64 "$?"
"$DLOCK" release ac --owner "$owner"
is "release by owner token" "0 0" "$? $(keys ac)"
"$DLOCK" release ac --owner "$owner" 2>/dev/null
is "a second release says it was not held: 75" 75 "$?"

rm -f "$TMP/e.held" "$TMP/e.release"
ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_CPORT_e1" lock ef -- \
	sh -c "touch $TMP/e.held; while [ ! -e $TMP/e.release ]; do sleep 0.02; done" \
	>/dev/null 2>&1 &
ETCDCTL=$!
track "$ETCDCTL"
wait_until 20 test -e "$TMP/e.held" || not_ok "etcdctl lock ef did not start"
"$DLOCK" release ef --force >/dev/null 2>&1
is "release --force takes an etcdctl lock holder's key away" "0 0" \
	"$? $(keys ef)"
touch "$TMP/e.release"
wait_exit 20 "$ETCDCTL"

out=$("$DLOCK" doctor 2>&1)
is "doctor on one healthy member exits 0" 0 "$?"
like "... and took a probe lock" "$out" 'ok +probe: took, renewed and released'

# --- what etcd cannot do, and bad settings -------------------------------------

for opt in "--limit 2" --no-fifo; do
	# shellcheck disable=SC2086 # the option and its value
	out=$("$DLOCK" run $opt -n r -- true 2>&1)
	is "run $opt on etcd is refused: 64" 64 "$?"
done
"$DLOCK" --url "$URL" --url redis://127.0.0.1:1 run r -- true 2>"$TMP/q.err"
is "an etcd URL with another --url is refused: 64" 64 "$?"
like "... saying why" "$(cat "$TMP/q.err")" 'never a node of a quorum'

port=$(unused_port)
out=$("$DLOCK" --url "etcd://127.0.0.1:$port" --connect-timeout 1s run r -- true 2>&1)
is "no endpoint answering: 69" 69 "$?"
like "... naming it" "$out" "127.0.0.1:$port"
out=$("$DLOCK" --url "etcd://127.0.0.1:$port,127.0.0.1:$ETCD_CPORT_e1" run r -- echo ran 2>&1)
is "a dead endpoint before a live one: the next one serves" "0 ran" "$? $out"

# --- a frozen server ---------------------------------------------------------

hold fz --ttl 3s
kill -STOP "$ETCD_PID_e1"
wait_exit 30 "$HOLDER"
status=$WAIT_STATUS
kill -CONT "$ETCD_PID_e1"
is "etcd frozen for longer than the lease: the holder exits 75" 75 "$status"
like "... and says it lost the lock" "$(cat "$TMP/holder.fz.err")" \
	"lost lock 'fz'"

# A member that takes the request and does not answer (frozen here; in an
# election, a follower whose leader died) is a cluster that exists: a new
# contender waits it out, as one waits for the lock, instead of giving up
# with 69 (which nothing listening there gets at once).
kill -STOP "$ETCD_PID_e1"
rm -f "$TMP/fz2.ran"
"$DLOCK" run --verbose --connect-timeout 1s fz2 -- touch "$TMP/fz2.ran" \
	2>"$TMP/fz2.err" &
W=$!
track "$W"
wait_until 30 grep -q "retrying" "$TMP/fz2.err"
is "a member that does not answer a new contender: it retries" 0 "$?"
kill -CONT "$ETCD_PID_e1"
wait_exit 30 "$W"
is "... and runs once etcd answers" "0 yes" \
	"$WAIT_STATUS $([ -e "$TMP/fz2.ran" ] && echo yes)"

# --- authentication ------------------------------------------------------------

start_etcd a1
if ectl a1 user add root:rootpw >/dev/null 2>&1 &&
    { ectl a1 role add root >/dev/null 2>&1 || true; } &&
    ectl a1 user grant-role root root >/dev/null 2>&1 &&
    ectl a1 auth enable >/dev/null 2>&1; then
	ok "etcd a1 has authentication on"
else
	not_ok "etcd a1 has authentication on"
fi
(umask 077; echo rootpw >"$TMP/pw"; echo wrong >"$TMP/badpw")
"$DLOCK" --url "$ETCD_URL_a1" --user root --password-file "$TMP/pw" \
	run a -- true
is "the right password: run works" 0 "$?"
out=$("$DLOCK" --url "$ETCD_URL_a1" --user root --password-file "$TMP/badpw" \
	run a -- true 2>&1)
is "a wrong password: 77" 77 "$?"
like "... with a message" "$out" '^dlock: '
out=$("$DLOCK" --url "$ETCD_URL_a1" run a -- true 2>&1)
is "no credentials where etcd wants them: 77" 77 "$?"

# --- TLS mismatch ---------------------------------------------------------------

out=$("$DLOCK" --url "etcds://127.0.0.1:$ETCD_CPORT_e1" --connect-timeout 2s \
	run t -- true 2>&1)
st=$?
[ "$st" = 78 ] || [ "$st" = 69 ] &&
	ok "etcds:// to a plain etcd: $st" ||
	not_ok "etcds:// to a plain etcd: 78 or 69" "got $st: $out"
like "... with a message" "$out" '^dlock: '

# --- etcds:// against a TLS etcd -------------------------------------------------

C="$TMP/certs"
mkdir "$C"
newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>>"$C/openssl.log"
}
if newkey "$C/ca.key" &&
    openssl req -x509 -new -key "$C/ca.key" -out "$C/ca.crt" -days 2 \
	-subj /CN=dlock-etcd-ca 2>>"$C/openssl.log" &&
    newkey "$C/other.key" &&
    openssl req -x509 -new -key "$C/other.key" -out "$C/other.crt" \
	-days 2 -subj /CN=dlock-other-ca 2>>"$C/openssl.log" &&
    newkey "$C/server.key" &&
    openssl req -new -key "$C/server.key" -out "$C/server.csr" \
	-subj /CN=localhost 2>>"$C/openssl.log" &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$C/server.ext" &&
    openssl x509 -req -in "$C/server.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" \
	-CAcreateserial -out "$C/server.crt" -days 2 -extfile "$C/server.ext" \
	>>"$C/openssl.log" 2>&1; then
	ETCD_SCHEME=https start_etcd t1 --cert-file "$C/server.crt" \
		--key-file "$C/server.key"
	out=$("$DLOCK" --url "$ETCD_URL_t1" --tls-ca "$C/ca.crt" run t -- \
		sh -c 'echo "$DLOCK_TOKEN"' 2>&1)
	like "etcds:// with the right CA: run works" "$out" '^[0-9]+$'
	out=$("$DLOCK" --url "$ETCD_URL_t1" --tls-ca "$C/other.crt" \
		--connect-timeout 2s run t -- true 2>&1)
	st=$?
	[ "$st" = 78 ] || [ "$st" = 69 ] &&
		ok "etcds:// with another CA: refused ($st)" ||
		not_ok "etcds:// with another CA: 78 or 69" "got $st: $out"
	like "... saying the certificate did not verify" "$out" \
		'^dlock: .*(certificate|verify)'
	out=$("$DLOCK" --url "etcd://127.0.0.1:$ETCD_CPORT_t1" \
		--connect-timeout 2s run t -- true 2>&1)
	st=$?
	[ "$st" = 78 ] || [ "$st" = 69 ] &&
		ok "etcd:// to a TLS etcd: refused ($st)" ||
		not_ok "etcd:// to a TLS etcd: 78 or 69" "got $st: $out"
	like "... with a message" "$out" '^dlock: '
	"$DLOCK" --url "$ETCD_URL_t1" --tls-ca "$C/no-such-ca.pem" run t -- \
		true 2>/dev/null
	is "a --tls-ca file that does not exist: 78" 78 "$?"
else
	T_NUM=$((T_NUM + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_NUM # SKIP openssl could not make certificates: $(tail -n 1 "$C/openssl.log")"
fi

# --- a 3-member cluster losing its leader under a holder ----------------------

start_etcd_cluster c 3
rm -f "$TMP/c.up" "$TMP/c.go"
"$DLOCK" --url "$ETCD_CLUSTER_URL" run --ttl 8s L -- \
	sh -c "touch $TMP/c.up; while [ ! -e $TMP/c.go ]; do sleep 0.02; done; exit 3" \
	2>"$TMP/c.err" &
CH=$!
track "$CH"
wait_until 20 test -e "$TMP/c.up" || not_ok "the cluster holder did not start"
leader=$(etcd_leader c 3)
eval "kill -9 \$ETCD_PID_$leader"
eval "wait \$ETCD_PID_$leader 2>/dev/null"
killed_at=$(date +%s)
wait_until 30 etcd_leader c 3 "$leader" >/dev/null ||
	not_ok "the cluster did not elect another leader"
# A lease after the kill: still holding then, it was renewed since, through
# a member that is up (the local end is at most 8 s after a renewal).
wait_until 30 sh -c "[ \$(date +%s) -gt $((killed_at + 9)) ] || ! kill -0 $CH 2>/dev/null"
kill -0 "$CH" 2>/dev/null && ok "the holder keeps the lock for a lease after the leader died" ||
	not_ok "the holder keeps the lock after the leader died" "$(cat "$TMP/c.err")"
touch "$TMP/c.go"
wait_exit 30 "$CH"
is "... and its command ends with its own status" 3 "$WAIT_STATUS"
out=$("$DLOCK" --url "$ETCD_CLUSTER_URL" doctor 2>&1)
like "doctor on the cluster says which member is down" "$out" \
	'warn +endpoint'
like "... and the members" "$out" 'members: 3 members'

done_testing
