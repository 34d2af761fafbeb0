#!/usr/bin/env bash
# Runs integration test files, two at a time, and sums up their results.
set -u
cd "$(dirname "$0")/.." || exit 1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
jobs=${TEST_JOBS:-2}
i=0
for t in "$@"; do
	name=$(basename "$t" .sh)
	( bash "$t" >"$out/$name.log" 2>&1; echo $? >"$out/$name.rc" ) &
	i=$((i + 1))
	if [ $((i % jobs)) -eq 0 ]; then
		wait -n 2>/dev/null || wait
	fi
done
wait
pass=0
fail=0
bad=""
for t in "$@"; do
	name=$(basename "$t" .sh)
	cat "$out/$name.log"
	p=$(grep -c '^ok ' "$out/$name.log")
	f=$(grep -c '^not ok ' "$out/$name.log")
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$(cat "$out/$name.rc")" != 0 ] && [ "$f" -eq 0 ]; then
		fail=$((fail + 1))
		bad="$bad $name"
	fi
done
[ -z "$bad" ] || echo "# these files failed without a test failure:$bad"
if [ -n "${SANITIZER_LOG:-}" ] && [ -n "$(ls "$SANITIZER_LOG" 2>/dev/null)" ]; then
	echo "# sanitizer reports in $SANITIZER_LOG:"
	cat "$SANITIZER_LOG"/* | sed 's/^/#   /'
	fail=$((fail + 1))
fi
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
