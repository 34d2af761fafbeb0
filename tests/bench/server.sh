# Sourced by the benchmarks: a throwaway redis-server in a temp dir, on
# $tmp/r.sock and, when $port is set, on that loopback port too; stopped
# and removed on exit.
# shellcheck shell=bash
tmp=$(mktemp -d)
redis-server --port "${port:-0}" --bind 127.0.0.1 \
	--unixsocket "$tmp/r.sock" --dir "$tmp" --save '' --appendonly no \
	--logfile "$tmp/log" &
server=$!
trap 'kill $server; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
	redis-cli -s "$tmp/r.sock" ping >/dev/null 2>&1 && break
	sleep 0.05
done
