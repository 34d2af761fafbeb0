#!/usr/bin/env bash
# Mutual exclusion torture: N contenders x M iterations of a read-modify-
# write, with a pause inside, on a counter guarded only by "dlock run".
# An independent detector (mkdir of a sentinel directory, atomic in the
# kernel) records any overlap; the final counter must be exact and the
# fencing tokens must strictly increase in order of entry.
#
#   torture.sh N M [DLOCK-RUN-OPTIONS...]   (DLOCK_URL must be set)
# TORTURE_PAUSE sets the pause inside the critical section (0.002 s).
# With --limit L among the options, the section is a semaphore's: the
# detector counts how many are inside at once (under flock(1) on a local
# file) and the peak must not pass L; the counter is then kept under the
# same local lock, since L holders may update it at once.
# Prints the figures; exits 0 when all three properties held.
set -u
: "${DLOCK:?}"
n=$1
m=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo 0 >"$dir/counter"
: >"$dir/tokens"
: >"$dir/overlaps"

limit=0
prev=""
for arg in "$@"; do
	[ "$prev" = --limit ] && limit=$arg
	prev=$arg
done
# The critical section is a script for sh -c, quotes and all.
# shellcheck disable=SC2089,SC2090
if [ "$limit" -gt 0 ]; then
	echo 0 >"$dir/inside"
	echo 0 >"$dir/peak"
	critical='
flock "$D/local" sh -c "n=\$((\$(cat $D/inside) + 1)); echo \$n > $D/inside
	[ \$n -gt \$(cat $D/peak) ] && echo \$n > $D/peak
	[ \$n -gt $LIMIT ] && echo overlap >> $D/overlaps
	echo $DLOCK_TOKEN >> $D/tokens; echo \$((\$(cat $D/counter) + 1)) > $D/counter"
sleep "$PAUSE"
flock "$D/local" sh -c "echo \$((\$(cat $D/inside) - 1)) > $D/inside"
'
else
	critical='
mkdir "$D/inside" 2>/dev/null || echo overlap >>"$D/overlaps"
echo "$DLOCK_TOKEN" >>"$D/tokens"
c=$(cat "$D/counter")
sleep "$PAUSE"
echo $((c + 1)) >"$D/counter"
rmdir "$D/inside" 2>/dev/null || echo overlap >>"$D/overlaps"
'
fi
# shellcheck disable=SC2090
export D=$dir PAUSE=${TORTURE_PAUSE:-0.002} LIMIT=$limit critical
start=$(date +%s%N)
pids=""
for _ in $(seq "$n"); do
	(
		for _ in $(seq "$m"); do
			"$DLOCK" run "$@" torture -- sh -c "$critical" ||
				echo "run failed: $?" >>"$D/overlaps"
		done
	) &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))

count=$(cat "$dir/counter")
overlaps=$(wc -l <"$dir/overlaps")
entries=$(wc -l <"$dir/tokens")
sorted_ok=yes
sort -n -c "$dir/tokens" 2>/dev/null || sorted_ok=no
[ "$(sort -n -u "$dir/tokens" | wc -l)" -eq "$entries" ] || sorted_ok=no
if [ "$limit" -gt 0 ]; then
	# Entries are logged under the local lock, not the semaphore: two
	# holders may log out of token order, but every token is unique.
	sorted_ok=unique
	[ "$(sort -n -u "$dir/tokens" | wc -l)" -eq "$entries" ] || sorted_ok=no
	echo "torture: --limit $limit: peak concurrency $(cat "$dir/peak") (must not pass $limit)"
fi
echo "torture: $n contenders x $m iterations in ${elapsed} ms" \
	"($((n * m * 1000 / (elapsed > 0 ? elapsed : 1))) critical sections/s)"
echo "torture: counter $count of $((n * m)); overlaps or failures: $overlaps;" \
	"tokens strictly increasing in order of entry: $sorted_ok"
[ -s "$dir/overlaps" ] && sed 's/^/torture:   /' "$dir/overlaps" | sort | uniq -c
[ "$count" -eq $((n * m)) ] && [ "$overlaps" -eq 0 ] && [ "$sorted_ok" != no ]
