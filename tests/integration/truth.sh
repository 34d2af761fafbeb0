#!/usr/bin/env bash
# dlock status and the busy messages tell the truth (issue 11): who renews
# a lease, the lease a renewal by token set, a lock-delay rather than a
# dead holder, and who the first waiter is.
. "$(dirname "$0")/../lib.sh"

unset DLOCK_OWNER DLOCK_PASSWORD REDISCLI_AUTH
start_redis r
export DLOCK_URL="unix://$TMP/r.sock"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
host=$(uname -n)

# --- dlock renew --ttl: the lease shown is the new one ---------------------

tok=$("$DLOCK" acquire --ttl 3s rn)
"$DLOCK" renew rn --owner "$tok" --ttl 1m
is "renew --ttl 1m: 0" 0 $?
like "status shows the lease renew --ttl set" "$("$DLOCK" status rn)" \
	"expires: .*; lease 1m00s"
is "JSON: ttl_ms is the new lease" 60000 \
	"$("$DLOCK" status --json rn | json 'd["holders"][0]["ttl_ms"]')"
"$DLOCK" renew rn --owner "$tok"
pttl=$(rcli r pttl 'dlock:{rn}')
[ "$pttl" -gt 50000 ] && ok "renew without --ttl then keeps the new lease ($pttl ms)" ||
	not_ok "renew without --ttl went back to the old lease" "$pttl"
"$DLOCK" release rn --owner "$tok"

t1=$("$DLOCK" acquire -s --ttl 3s rs)
"$DLOCK" renew rs --owner "$t1" --ttl 2m
is "a shared holder's renew --ttl 2m is shown too" 120000 \
	"$("$DLOCK" status --json rs | json 'd["holders"][0]["ttl_ms"]')"
"$DLOCK" release rs --owner "$t1"

done_testing
