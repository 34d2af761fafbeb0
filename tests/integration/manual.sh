#!/usr/bin/env bash
# The manual pages render without warnings and stay short enough to read,
# every page they name exists, and the README's set-up facts are true: its
# package list is that of tests/deps.sh, and its cron lines (and those of
# the manual) find dlock under cron's PATH. Needs no redis-server.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
README=$ROOT/README.md

# Rendered lines at 80 columns: dlock(1) is a reference to look things up
# in (ssh(1) is about 1,000), the others are read through.
max_lines() {
	case $1 in
	dlock.1) echo 650 ;;
	*.7) echo 800 ;;
	*) echo 600 ;;
	esac
}

pages=$(cd "$ROOT/man" && ls -- *.[1-9] 2>/dev/null)
for p in dlock.1 dlock.7 dlock-redis.7 dlock-quorum.7; do
	if [ -f "$ROOT/man/$p" ]; then
		ok "man/$p exists"
	else
		not_ok "man/$p exists"
	fi
done

# --- rendering ------------------------------------------------------------

if command -v man >/dev/null 2>&1; then
	for p in $pages; do
		# A fixed locale and width: the result must not depend on the
		# caller's.
		warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 \
			man --warnings -E UTF-8 -l "$ROOT/man/$p" 2>&1 >"$TMP/$p.txt")
		is "man --warnings is silent on man/$p" "" "$warnings"
		n=$(wc -l <"$TMP/$p.txt")
		max=$(max_lines "$p")
		if [ "$n" -gt 0 ] && [ "$n" -le "$max" ]; then
			ok "man/$p renders to $n lines at 80 columns (at most $max)"
		else
			not_ok "man/$p renders to at most $max lines at 80 columns" \
				"it renders to $n"
		fi
		like "man/$p has a SEE ALSO section" "$(cat "$TMP/$p.txt")" \
			'^SEE ALSO$'
	done
else
	not_ok "man renders the pages" \
		"man is not installed: install man-db (sudo apt-get install man-db)"
fi

# --- references -------------------------------------------------------------

# refs FILE: every "name(section)" a page names in roff (.BR name (s) or
# \fBname\fR(s)), one "name section" a line.
refs() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1" |
		grep -oE '(^\.BR |[^A-Za-z0-9_.-])[a-z][a-z0-9_.+-]* ?\([1-9][a-z]*\)' |
		sed -E 's/^\.BR //; s/^[^a-z]//; s/ ?\(([1-9][a-z]*)\)$/ \1/' | sort -u
}

# see_also FILE: the references of the SEE ALSO section only.
see_also() {
	sed -n '/^\.SH "\{0,1\}SEE ALSO/,/^\.SH /p' "$1" >"$TMP/see-also"
	refs "$TMP/see-also"
}

for p in $pages; do
	name=${p%.*}
	see=$(see_also "$ROOT/man/$p")
	if [ -n "$see" ]; then
		ok "man/$p: SEE ALSO names $(echo "$see" | tr '\n' ' ' | sed 's/ \([1-9]\)/(\1)/g')"
	else
		not_ok "man/$p: SEE ALSO names other pages" "none found"
	fi
	# The pages of dlock name each other.
	for q in $pages; do
		[ "$q" = "$p" ] && continue
		if grep -qx "${q%.*} ${q##*.}" <<<"$see"; then
			ok "man/$p: SEE ALSO names ${q%.*}(${q##*.})"
		else
			not_ok "man/$p: SEE ALSO names ${q%.*}(${q##*.})"
		fi
	done
	# Every dlock page a page names, in SEE ALSO or in its text, exists
	# here; the others belong to other packages, which may be missing.
	while read -r n s; do
		[ -n "$n" ] || continue
		case $n in
		dlock | dlock-*)
			if [ -f "$ROOT/man/$n.$s" ]; then
				ok "man/$p: $n($s) is man/$n.$s"
			else
				not_ok "man/$p: $n($s) exists" "no man/$n.$s"
			fi
			;;
		esac
	done <<<"$(refs "$ROOT/man/$p")"
	if command -v man >/dev/null 2>&1; then
		while read -r n s; do
			case $n in
			dlock | dlock-* | '') continue ;;
			esac
			if man -w "$s" "$n" >/dev/null 2>&1; then
				ok "man/$p: SEE ALSO $n($s) is installed here"
			else
				ok "man/$p: SEE ALSO $n($s) # skip: not installed here"
			fi
		done <<<"$see"
	fi
	is "man/$p does not name itself in SEE ALSO" "" \
		"$(grep -x "$name ${p##*.}" <<<"$see")"
done

# "SECTION in page(7)": every such reference names a section, subsection
# or list entry of a page of dlock.
for p in $pages; do
	awk '
	p2 ~ /^\.BR? / && p1 == "in" &&
	$0 ~ /^\.BR dlock(\\-[a-z]+)? \([1-9]\)/ {
		t = p2
		sub(/^\.BR? +/, "", t)
		gsub(/"/, "", t)
		n = $2
		gsub(/\\/, "", n)
		s = $3
		sub(/^\(/, "", s)
		sub(/\).*/, "", s)
		printf "%s.%s\t%s\n", n, s, t
	}
	{ p2 = p1; p1 = $0 }' "$ROOT/man/$p" >"$TMP/xrefs"
	while IFS=$'\t' read -r target title; do
		[ -n "$target" ] || continue
		if [ -f "$ROOT/man/$target" ] &&
			{ grep -qxF -e ".SH $title" -e ".SS $title" -e ".SH \"$title\"" \
				-e ".SS \"$title\"" "$ROOT/man/$target" ||
			  awk '/^\.TP/ { getline; print }' "$ROOT/man/$target" |
				grep -qxF "$title"; }; then
			ok "man/$p: '$title' is in man/$target"
		else
			not_ok "man/$p: '$title' is in man/$target" \
				"no .SH, .SS or .TP entry '$title' there"
		fi
	done <"$TMP/xrefs"
done

# Every backend has its page, which dlock(7)'s BACKENDS points at.
sed -n '/^\.SH BACKENDS/,/^\.SH [^B]/p' "$ROOT/man/dlock.7" >"$TMP/backends"
for b in redis quorum etcd; do
	if grep -q "dlock\\\\-$b (7)" "$TMP/backends" &&
	    [ -f "$ROOT/man/dlock-$b.7" ]; then
		ok "dlock(7)'s BACKENDS points at dlock-$b(7), which exists"
	else
		not_ok "dlock(7)'s BACKENDS points at dlock-$b(7), which exists"
	fi
done
unlike "dlock(7)'s BACKENDS promises nothing as planned" \
	"$(cat "$TMP/backends")" 'planned'
like "dlock(1) gives the etcd:// URL form" \
	"$(cat "$ROOT/man/dlock.1")" 'etcd://'

# --- the README -----------------------------------------------------------

# The packages of tests/deps.sh, and those of the README's apt-get line
# (the one with libhiredis-dev), as sorted lists.
deps_pkgs=$(sed -nE 's/^(BUILD|TEST)_PKGS="(.*)"$/\2/p' "$ROOT/tests/deps.sh" |
	tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
readme_pkgs=$(grep -m 1 -E 'apt-get install .*libhiredis-dev' "$README" |
	sed -E 's/.*apt-get install//' | tr ' ' '\n' |
	grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u | tr '\n' ' ')
like "tests/deps.sh lists packages" "$deps_pkgs" 'libhiredis-dev'
is "the README's package list is that of tests/deps.sh" "$deps_pkgs" \
	"$readme_pkgs"

# cron_lines FILE: "LINE<TAB>OK" for each crontab entry of FILE's examples
# (fenced blocks of the README, .EX blocks of a page): OK is 1 when the
# command is a full path or a PATH= line comes before it in the block.
cron_lines() {
	sed -e 's/\\-/-/g' -e 's/\\e/\\/g' "$1" | awk '
	/^```/ { inblock = !inblock; path = 0; next }
	/^\.EX/ { inblock = 1; path = 0; next }
	/^\.EE/ { inblock = 0; next }
	!inblock { next }
	/^PATH=/ { path = 1; next }
	/^(@[a-z]+|[0-9*][0-9*\/,-]* +[0-9*][0-9*\/,-]* +[0-9*A-Za-z\/,-]+ +[0-9*A-Za-z\/,-]+ +[0-9*A-Za-z\/,-]+) +[^ ]/ {
		n = ($1 ~ /^@/) ? 2 : 6
		# The entry may start with variables: VAR=value dlock ...
		while ($n ~ /^[A-Z_]+=/)
			n++
		printf "%s\t%d\n", $0, (path || $n ~ /^\//)
	}'
}

for f in "$README" "$ROOT"/man/*.[1-9]; do
	rel=${f#"$ROOT"/}
	lines=$(cron_lines "$f")
	[ -n "$lines" ] || continue
	while IFS=$'\t' read -r line good; do
		if [ "$good" = 1 ]; then
			ok "$rel: cron finds the command of '$line'"
		else
			not_ok "$rel: cron finds the command of '$line'" \
				"cron's PATH is /usr/bin:/bin and make install puts dlock in" \
				"/usr/local/bin: write the full path, or set PATH= in the crontab"
		fi
	done <<<"$lines"
done
if [ -n "$(cron_lines "$README")" ]; then
	ok "the README has cron examples"
else
	not_ok "the README has cron examples" "no crontab line found"
fi

size=$(wc -c <"$README")
if [ "$size" -le 12000 ]; then
	ok "README.md is $size bytes (at most 12000): the theory is in the manual"
else
	not_ok "README.md is at most 12000 bytes" "it is $size"
fi

# The first screen: what dlock is, the two set-up commands, and a server
# set explicitly before the first example.
head -n 40 "$README" >"$TMP/first"
for c in "make demo" "make check"; do
	if grep -q "^$c" "$TMP/first"; then
		ok "the README's first screen has $c"
	else
		not_ok "the README's first screen has $c" "not in its first 40 lines"
	fi
done
first_dlock=$(grep -n -m 1 -E '^(\$ )?dlock ' "$README" | cut -d: -f1)
first_url=$(grep -n -m 1 -E 'DLOCK_URL=|--url ' "$README" | cut -d: -f1)
if [ -n "$first_url" ] && [ -n "$first_dlock" ] &&
	[ "$first_url" -lt "$first_dlock" ]; then
	ok "the README sets the server (line $first_url) before its first example"
else
	not_ok "the README sets the server before its first example" \
		"first DLOCK_URL= or --url: line ${first_url:-none}; first dlock command: line ${first_dlock:-none}"
fi

# The README's links to the manual and to files of the tree exist.
links=$(grep -oE '\]\([^)#:]+\)' "$README" | sed -E 's/^\]\((.*)\)$/\1/' | sort -u)
for l in $links; do
	if [ -e "$ROOT/$l" ]; then
		ok "README.md links to $l, which exists"
	else
		not_ok "README.md links to $l, which exists"
	fi
done
for p in $pages; do
	if grep -qF "${p%.*}(${p##*.})" "$README"; then
		ok "README.md names ${p%.*}(${p##*.})"
	else
		not_ok "README.md names ${p%.*}(${p##*.})"
	fi
done

done_testing
