#!/bin/sh
# Runs the unit test programs and sums up their results.
pass=0
fail=0
for t in "$@"; do
	log=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$log"
	p=$(printf '%s\n' "$log" | grep -c '^ok ')
	f=$(printf '%s\n' "$log" | grep -c '^not ok ')
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$rc" != 0 ] && [ "$f" -eq 0 ]; then
		echo "# $t exited $rc"
		fail=$((fail + 1))
	fi
done
if [ -n "${SANITIZER_LOG:-}" ] && [ -n "$(ls "$SANITIZER_LOG" 2>/dev/null)" ]; then
	echo "# sanitizer reports in $SANITIZER_LOG:"
	cat "$SANITIZER_LOG"/* | sed 's/^/#   /'
	fail=$((fail + 1))
fi
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
