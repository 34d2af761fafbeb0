#!/usr/bin/env bash
# dlock doctor: a fit server passes; eviction policies, missing persistence,
# replication, cluster mode and ACL users without rights on the prefix are
# reported with exit 1; unreachable servers, refused passwords and bad
# settings exit 69, 77 and 78; the probe leaves no keys behind.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
# shellcheck disable=SC2154 # PORT_<name> comes from start_redis_tcp
. "$(dirname "$0")/../lib.sh"

unset DLOCK_URL REDIS_URL DLOCK_PASSWORD REDISCLI_AUTH DLOCK_PREFIX DLOCK_OWNER
MAN=$(cd "$(dirname "$0")/../.." && pwd)/man/dlock-redis.7

# doctor NAME DLOCK-ARGS...: runs "dlock doctor", output in $TMP/NAME.out
# and $TMP/NAME.err; sets OUT and STATUS.
doctor() {
	local name=$1
	shift
	"$DLOCK" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	STATUS=$?
	OUT=$(cat "$TMP/$name.out")
}

# probe_keys NAME: the probe keys left on unix-socket server NAME.
probe_keys() {
	rcli "$1" --scan --pattern '*dlock-doctor-*'
}

# --- a fit server --------------------------------------------------------------

start_redis g --appendonly yes --maxmemory-policy noeviction
G="unix://$TMP/g.sock"

doctor good doctor --url "$G"
is "fit server: exit 0" 0 "$STATUS"
like "fit server: names the server first" "$(head -n 1 <<<"$OUT")" \
	"^dlock doctor: $G\$"
like "fit server: connected" "$OUT" "^ok    connect: connected as user 'default'"
like "fit server: latency over 5 PINGs" "$OUT" \
	"^ok    latency: median [0-9]+\\.[0-9]{2} ms over 5 PINGs\$"
like "fit server: version and mode" "$OUT" \
	"^ok    server: Redis [0-9]+\\.[0-9]+\\.[0-9]+, standalone\$"
like "fit server: role" "$OUT" "^ok    role: primary, no replicas\$"
like "fit server: AOF" "$OUT" "^ok    persistence: AOF is on\$"
like "fit server: policy" "$OUT" "^ok    maxmemory-policy: noeviction\$"
like "fit server: scripts on the prefix" "$OUT" \
	"^ok    scripts: acquire, status, renew, release, leave, shared acquire and release ran on dlock:\\{dlock-doctor-[0-9a-f]{16}\\}; probe keys deleted\$"
like "fit server: summary" "$(tail -n 1 <<<"$OUT")" "^dlock doctor: no problems\$"
unlike "fit server: no warning" "$OUT" "^(warn|fail|note) "
is "fit server: nothing on stderr" "" "$(cat "$TMP/good.err")"
is "fit server: the probe left no keys" "" "$(probe_keys g)"

# Global options before the command name, and another prefix.
doctor before --url "$G" --prefix app: doctor
is "global options before the command: exit 0" 0 "$STATUS"
like "--prefix is probed" "$OUT" "^ok    scripts: .* on app:\\{dlock-doctor-"

# --- server settings -----------------------------------------------------------

rcli g config set maxmemory-policy allkeys-lru >/dev/null
doctor lru doctor --url "$G"
is "allkeys-lru: exit 1" 1 "$STATUS"
like "allkeys-lru: warned, saying what to do" "$OUT" \
	"^warn  maxmemory-policy: allkeys-lru can evict a held lock.*set maxmemory-policy noeviction\$"
like "allkeys-lru: counted" "$(tail -n 1 <<<"$OUT")" "^dlock doctor: 1 problem\$"
rcli g config set maxmemory-policy volatile-lru >/dev/null
doctor vlru doctor --url "$G"
is "volatile-lru: exit 1" 1 "$STATUS"
like "volatile-lru: warned" "$OUT" "^warn  maxmemory-policy: volatile-lru can evict lock keys"
rcli g config set maxmemory-policy noeviction >/dev/null

start_redis bare --save '' --appendonly no
doctor bare doctor --url "unix://$TMP/bare.sock"
is "no persistence: exit 1" 1 "$STATUS"
like "no persistence: warned, saying what to do" "$OUT" \
	"^warn  persistence: neither AOF nor RDB snapshots are on.*appendonly yes"
start_redis rdb --save '3600 1' --appendonly no
doctor rdb doctor --url "unix://$TMP/rdb.sock"
is "RDB snapshots alone: exit 0" 0 "$STATUS"
like "RDB snapshots alone: said" "$OUT" "^ok    persistence: RDB snapshots \\(save 3600 1\\), no AOF"

# --- replication and cluster mode ----------------------------------------------

start_redis_tcp p --appendonly yes
start_redis_tcp rep --appendonly yes --replicaof 127.0.0.1 "$PORT_p"
replica_linked() {
	redis-cli -p "$PORT_p" info replication | grep -q '^connected_slaves:1'
}
wait_until 10 replica_linked || echo "# the replica did not connect"
doctor replica doctor --url "redis://127.0.0.1:$PORT_rep"
is "replica: exit 69" 69 "$STATUS"
like "replica: refused, naming its primary" "$OUT" \
	"^fail  role: this is a replica of 127\\.0\\.0\\.1:$PORT_p; use redis\\+sentinel://.* or point --url at the master\$"
unlike "replica: scripts not tried" "$OUT" "^ok    scripts"
doctor primary doctor --url "redis://127.0.0.1:$PORT_p"
is "primary with a replica: exit 1" 1 "$STATUS"
like "primary with a replica: warned about failover" "$OUT" \
	"^warn  role: primary with 1 connected replica: replication is asynchronous.*DLOCK_TOKEN"

start_redis_tcp c --appendonly yes --cluster-enabled yes \
	--cluster-config-file "$TMP/c-nodes.conf"
doctor cluster doctor --url "redis://127.0.0.1:$PORT_c"
is "cluster mode: exit 1" 1 "$STATUS"
like "cluster mode: said" "$OUT" "^ok    server: Redis .*, cluster\$"
like "cluster mode: a node without slots fails the cluster check" "$OUT" \
	"^fail  cluster: cluster_state:fail; .*no slots assigned yet"
unlike "cluster mode: a script refused before it ran leaves no cleanup" \
	"$OUT" "^warn  cleanup"

# --- ACL -----------------------------------------------------------------------

# The rule the manual gives, from the manual itself.
rule=$(sed -n '/^redis\\-cli ACL SETUSER dlock/,/+select$/p' "$MAN" |
	sed -e 's/\\-/-/g' -e 's/\\(ti/~/g' -e 's/\\(aq//g' -e 's/\\e$//' |
	grep -oE '[~+][^ ]+')
if [ -n "$rule" ]; then
	ok "the manual's ACL rule: $(tr '\n' ' ' <<<"$rule")"
else
	not_ok "the manual's ACL rule" "not found in $MAN"
fi
# shellcheck disable=SC2086 # one word per ACL rule
rcli g acl setuser dl on '>dlpw' $rule >/dev/null
rcli g acl setuser bob on '>bobpw' '~other:*' '+@all' >/dev/null
# shellcheck disable=SC2086
rcli g acl setuser nodel on '>nodelpw' $rule -del >/dev/null
# shellcheck disable=SC2086
rcli g acl setuser nozcard on '>nozcardpw' $rule -zcard >/dev/null

DLOCK_PASSWORD=dlpw doctor acl doctor --url "$G" --user dl
is "the manual's ACL rule passes: exit 0" 0 "$STATUS"
like "... authenticated" "$OUT" "^ok    connect: authenticated as user 'dl'\$"
like "... scripts ran" "$OUT" "^ok    scripts: acquire, status, renew, release, leave, shared acquire and release ran on dlock:"
like "... what INFO would tell is a note" "$OUT" "^note  persistence: unknown \\(NOPERM"
is "... the probe left no keys" "" "$(probe_keys g)"

DLOCK_PASSWORD=dlpw doctor aclp doctor --url "$G" --user dl --prefix other:
is "the rule on another prefix: exit 1" 1 "$STATUS"

DLOCK_PASSWORD=bobpw doctor bob doctor --url "$G" --user bob
is "no rights on the prefix: exit 1" 1 "$STATUS"
like "... names the refused step and the server's words" "$OUT" \
	"^fail  scripts: user 'bob' may not run the acquire script on dlock:\\{dlock-doctor-[0-9a-f]+\\}: NOPERM .*ACL rule in dlock\\(1\\), with keys '~dlock:\\*'\$"
like "... counted" "$(tail -n 1 <<<"$OUT")" "^dlock doctor: 1 problem\$"
is "... the probe left no keys" "" "$(probe_keys g)"

DLOCK_PASSWORD=nodelpw doctor nodel doctor --url "$G" --user nodel
is "a user without DEL: exit 1" 1 "$STATUS"
like "... the step is named" "$OUT" "^fail  scripts: user 'nodel' may not run the acquire script"
like "... the leftover fence counter is named" "$OUT" \
	"^warn  cleanup: could not delete the probe's fence counter dlock:\\{dlock-doctor-[0-9a-f]+\\}:fence \\(NOPERM.*delete it by hand"
left=$(probe_keys g | grep -c ':fence$')
is "... and it is indeed left" 1 "$left"
probe_keys g | xargs -r redis-cli -s "$TMP/g.sock" del >/dev/null

DLOCK_PASSWORD=nozcardpw doctor nozcard doctor --url "$G" --user nozcard
is "a user without ZCARD, which only shared locks and queues need: exit 1" \
	1 "$STATUS"
like "... the shared step is named" "$OUT" \
	"^fail  scripts: user 'nozcard' may not run the shared (acquire|release) script on dlock:.*ACL rule in dlock\\(1\\)"
is "... the probe left no keys" "" "$(probe_keys g)"

# --- connection failures -------------------------------------------------------

DLOCK_PASSWORD=wrong doctor wrongpw doctor --url "$G" --user dl
is "wrong password: exit 77" 77 "$STATUS"
like "wrong password: said" "$OUT" "^fail  connect: .*refused user 'dl': wrong user name or password"
like "wrong password: summary" "$(tail -n 1 <<<"$OUT")" \
	"^dlock doctor: authentication refused; nothing more was checked\$"

start_redis auth --requirepass s3cret --appendonly yes
doctor nopw doctor --url "unix://$TMP/auth.sock"
is "no password for a server that wants one: exit 77" 77 "$STATUS"
like "... said" "$OUT" "^fail  connect: .*requires a password"
DLOCK_PASSWORD=s3cret doctor pw doctor --url "unix://$TMP/auth.sock"
is "the right password: exit 0" 0 "$STATUS"

port=$(unused_port)
doctor down doctor --url "redis://127.0.0.1:$port"
is "unreachable: exit 69" 69 "$STATUS"
like "unreachable: said" "$OUT" "^fail  connect: cannot connect to redis://127\\.0\\.0\\.1:$port"
doctor nosock doctor --url "unix://$TMP/nosock"
is "no socket: exit 69" 69 "$STATUS"

doctor db doctor --url "$G?db=99"
is "database out of range: exit 78" 78 "$STATUS"
doctor badurl doctor --url http://x
is "bad URL: exit 78" 78 "$STATUS"

doctor two doctor --url "$G" --url "redis://127.0.0.1:$port"
is "several servers: the worst status" 69 "$STATUS"
is "several servers: each is checked" 2 "$(grep -c '^dlock doctor: [a-z]*:' "$TMP/two.out")"

# --- usage and output ----------------------------------------------------------

doctor help doctor --help
is "--help: exit 0" 0 "$STATUS"
like "--help: usage" "$(head -n 1 <<<"$OUT")" "^Usage: dlock doctor"
doctor helpcmd help doctor
like "help doctor" "$(head -n 1 <<<"$OUT")" "^Usage: dlock doctor"
doctor extra doctor foo
is "an argument: exit 64" 64 "$STATUS"
like "an argument: said" "$(cat "$TMP/extra.err")" "^dlock: doctor takes no arguments"
doctor bogus doctor --bogus
is "unknown option: exit 64" 64 "$STATUS"
"$DLOCK" doctor --url "$G" >/dev/full 2>"$TMP/full.err"
is "doctor > /dev/full fails" 74 $?
like "... saying so" "$(cat "$TMP/full.err")" "^dlock: cannot write to standard output"

done_testing
