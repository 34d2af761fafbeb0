#!/bin/sh
# make lint: static checks beyond the compiler's warnings.
set -u
status=0
if command -v cppcheck >/dev/null 2>&1; then
	cppcheck --quiet --error-exitcode=1 --inline-suppr \
		--enable=warning,portability,performance \
		--suppress=missingIncludeSystem -Ilib/include -Ilib lib cmd || status=1
else
	echo "lint: cppcheck not installed (apt-get install cppcheck)" >&2
	status=1
fi
for f in tests/*.sh tests/integration/*.sh tests/bench/*.sh .ci/run; do
	[ -f "$f" ] || continue
	bash -n "$f" || status=1
done
if command -v shellcheck >/dev/null 2>&1; then
	# shellcheck disable=SC2046
	shellcheck -S warning -x $(ls tests/*.sh tests/bench/*.sh .ci/run \
		2>/dev/null) || status=1
	# SC2154: start_redis and free_port set REDIS_PID_<NAME> and
	# PORT_<NAME> through eval, which shellcheck cannot follow.
	shellcheck -S warning -x -e SC2154 tests/integration/*.sh || status=1
fi
exit $status
