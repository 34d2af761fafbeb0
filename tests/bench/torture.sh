#!/usr/bin/env bash
# make torture: tests/torture.sh at full size against a throwaway server.
set -u
: "${DLOCK:?}"
tmp=$(mktemp -d)
redis-server --port 0 --unixsocket "$tmp/r.sock" --dir "$tmp" --save '' \
	--appendonly no --logfile "$tmp/log" &
server=$!
trap 'kill $server; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
	redis-cli -s "$tmp/r.sock" ping >/dev/null 2>&1 && break
	sleep 0.05
done
DLOCK_URL="unix://$tmp/r.sock" "$(dirname "$0")/../torture.sh" "$@"
