#!/usr/bin/env bash
# Mutual exclusion under contention (a small run of tests/torture.sh;
# "make torture" runs a large one): no overlap, an exact counter, and
# fencing tokens that strictly increase in order of entry.
. "$(dirname "$0")/../lib.sh"

start_redis r
export DLOCK_URL="unix://$TMP/r.sock"
out=$(bash "$(dirname "$0")/../torture.sh" 8 6 2>&1)
status=$?
printf '%s\n' "$out" | sed 's/^/# /'
is "8 contenders x 6 iterations: exclusion, exact counter, rising tokens" 0 "$status"
out=$(TORTURE_PAUSE=0.4 bash "$(dirname "$0")/../torture.sh" 4 3 --ttl 1s 2>&1)
status=$?
printf '%s\n' "$out" | sed 's/^/# /'
is "4 x 3 with 0.4 s sections under a 1 s lease, renewed inside each" 0 "$status"

out=$(TORTURE_PAUSE=0.05 bash "$(dirname "$0")/../torture.sh" 8 4 --limit 3 2>&1)
status=$?
printf '%s\n' "$out" | sed 's/^/# /'
is "8 x 4 under --limit 3: never more than 3 inside, exact counter" 0 "$status"
like "... and the peak reached 3" "$out" "peak concurrency 3 "

done_testing
