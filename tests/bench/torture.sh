#!/usr/bin/env bash
# make torture: tests/torture.sh at full size against a throwaway server.
set -u
: "${DLOCK:?}"
# shellcheck source=tests/bench/server.sh
. "$(dirname "$0")/server.sh"
DLOCK_URL="unix://$tmp/r.sock" "$(dirname "$0")/../torture.sh" "$@"
