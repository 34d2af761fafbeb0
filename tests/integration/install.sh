#!/usr/bin/env bash
# make install and uninstall honour PREFIX and DESTDIR, and put the manual
# and the completions where man and the shells look for them.
. "$(dirname "$0")/../lib.sh"

src=$(cd "$(dirname "$0")/../.." && pwd)
dest="$TMP/root"
make -s -C "$src" install DESTDIR="$dest" PREFIX=/usr DLOCK="$DLOCK" >"$TMP/log" 2>&1
is "make install succeeds" 0 $?
for f in usr/bin/dlock usr/share/man/man1/dlock.1 \
	usr/share/bash-completion/completions/dlock \
	usr/share/zsh/site-functions/_dlock \
	usr/share/fish/vendor_completions.d/dlock.fish; do
	[ -f "$dest/$f" ] && ok "installs /$f" || not_ok "missing /$f" "$(cat "$TMP/log")"
done
[ -x "$dest/usr/bin/dlock" ] && ok "the binary is executable" || not_ok "binary not executable"
is "the installed binary runs" "$("$DLOCK" --version)" "$("$dest/usr/bin/dlock" --version)"
make -s -C "$src" uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
is "make uninstall removes every file" "" "$(find "$dest" -type f)"

done_testing
