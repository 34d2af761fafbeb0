#!/usr/bin/env bash
# Every option the code takes is in its --help, the manual and the three
# completions (util-linux checkcompletion.sh); --help works and fails on a
# full disk; the manual renders without warnings; the completions load.
# Needs no redis-server.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$ROOT/man/dlock.1
COMP_BASH=$ROOT/completions/dlock.bash
COMP_ZSH=$ROOT/completions/_dlock
COMP_FISH=$ROOT/completions/dlock.fish

# Options that exist only to be refused with a message saying why: the
# manual explains them; --help and the completions do not offer them.
REFUSED_LONG="no-fork"
REFUSED_SHORT="F"

skip() {
	T_NUM=$((T_NUM + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_NUM # skip $TEST_NAME: $1"
}

# A file's name for messages: relative to the tree, or to the temp dir.
where() {
	case $1 in
	"$ROOT"/*) echo "${1#"$ROOT"/}" ;;
	"$TMP/man tags") echo "the .TP tags of man/dlock.1" ;;
	"$TMP"/*) echo "the output of '${1#"$TMP"/}'" ;;
	*) echo "$1" ;;
	esac
}

# has DESCRIPTION FILE PCRE: FILE has a match for PCRE.
has() {
	if grep -Pq -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1" "no match for /$3/ in $(where "$2")"
	fi
}

# hasnt DESCRIPTION FILE PCRE
hasnt() {
	if grep -Pq -- "$3" "$2"; then
		not_ok "$1" "unexpected match for /$3/ in $(where "$2"):" \
			"$(grep -Pn -- "$3" "$2" | head -n 3)"
	else
		ok "$1"
	fi
}

is_refused() {
	case " $REFUSED_LONG $REFUSED_SHORT " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# The long options in the getopt tables of a cmd/*.c file, with those of
# GLOBAL_LONG_OPTIONS (cmd/cmd.h) where the file splices that table in.
table_long() {
	{
		cat "$1"
		grep -Eq '^[[:space:]]*GLOBAL_LONG_OPTIONS,' "$1" &&
			cat "$ROOT/cmd/cmd.h"
	} | grep -oE '\{ *"[a-z][a-z0-9-]*", *(no|required|optional)_argument' |
		sed -E 's/^\{ *"([^"]*)".*/\1/' | sort -u
}

# The short options in the getopt_long() calls of a cmd/*.c file.
table_short() {
	grep -oE 'getopt_long\([^"]*"[^"]*"' "$1" | sed -E 's/.*"([^"]*)"$/\1/' |
		tr -d '+:' | grep -o . | sort -u
}

# The long options a --help text mentions.
help_long() {
	grep -oE -- '(^|[^a-zA-Z0-9-])--[a-z][a-z0-9-]*' | sed -E 's/.*--//' |
		sort -u
}

# PCREs for an option in the manual, where it must be written \-\-name
# (a hyphen inside the name may be \- or -), or \-X.
man_long_re() {
	local inner
	inner=$(printf '%s' "$1" | sed 's/-/(?:\\\\-|-)/g')
	printf '%s' "\\\\-\\\\-$inner(?![a-z0-9]|\\\\?-[a-z0-9])"
}
man_short_re() {
	printf '%s' "(?<!\\\\-)\\\\-$1(?![a-zA-Z0-9])"
}

# In bash and zsh completions an option is written as typed; fish names it
# with -l/-s.
sh_long_re() { printf '%s' "(?<![a-zA-Z0-9-])--$1(?![a-zA-Z0-9-])"; }
sh_short_re() { printf '%s' "(?<![a-zA-Z0-9-])-$1(?![a-zA-Z0-9-])"; }
fish_long_re() { printf '%s' "(?:-l |--long-option[= ])'?$1'?(?![a-zA-Z0-9-])"; }
fish_short_re() { printf '%s' "(?:-s |--short-option[= ])'?$1'?(?![a-zA-Z0-9-])"; }

for f in "$MAN" "$COMP_BASH" "$COMP_ZSH" "$COMP_FISH"; do
	if [ ! -f "$f" ]; then
		echo "Bail out! ${f#"$ROOT"/} is missing"
		exit 1
	fi
done

# --- --help -----------------------------------------------------------------

for args in "--help" "-h" "run --help" "run -h" "help" "help run" \
	"--version"; do
	# shellcheck disable=SC2086 # $args is several words on purpose
	out=$("$DLOCK" $args 2>"$TMP/err")
	st=$?
	is "'dlock $args' exits 0" 0 "$st"
	like "'dlock $args' prints on stdout" "$out" '^(Usage: dlock|dlock [0-9])'
	is "'dlock $args' prints nothing on stderr" "" "$(cat "$TMP/err")"
done
is "'dlock help run' is 'dlock run --help'" "$("$DLOCK" run --help)" \
	"$("$DLOCK" help run 2>&1)"
is "'dlock help' is 'dlock --help'" "$("$DLOCK" --help)" \
	"$("$DLOCK" help 2>&1)"

if [ -w /dev/full ]; then
	for args in "--help" "run --help" "help run" "--version"; do
		# shellcheck disable=SC2086
		"$DLOCK" $args >/dev/full 2>"$TMP/err"
		st=$?
		if [ "$st" -ne 0 ]; then
			ok "'dlock $args >/dev/full' fails ($st)"
		else
			not_ok "'dlock $args >/dev/full' fails" "it exited 0"
		fi
		like "'dlock $args >/dev/full' says why" "$(cat "$TMP/err")" \
			'^dlock: .*standard output'
	done
else
	skip "/dev/full is not writable here"
fi

# --- options: code, --help, manual, completions ------------------------------

# The help text of the command a cmd/*.c file implements.
help_of() {
	case $(basename "$1" .c) in
	main) "$DLOCK" --help ;;
	*) "$DLOCK" "$(basename "$1" .c)" --help ;;
	esac
}

all_long=""
all_short=""
for src in "$ROOT"/cmd/*.c; do
	grep -q 'struct option' "$src" || continue
	file=cmd/$(basename "$src")
	case $file in
	cmd/main.c) what="dlock --help" ;;
	*) what="dlock $(basename "$src" .c) --help" ;;
	esac
	help_out=$TMP/$what
	help_of "$src" >"$help_out" 2>&1
	table=$(table_long "$src")
	if [ -z "$table" ]; then
		not_ok "$file: long options found in its getopt table" \
			"the parser in this test found none"
		continue
	fi

	for opt in $table; do
		all_long="$all_long $opt"
		is_refused "$opt" && continue
		has "$what mentions --$opt ($file)" "$help_out" \
			"$(sh_long_re "$opt")"
	done
	for opt in $(help_long <"$help_out"); do
		if grep -qx -- "$opt" <<<"$table"; then
			ok "$what: --$opt is an option of $file"
		else
			not_ok "$what: --$opt is an option of $file" \
				"--help offers an option the code does not take"
		fi
	done

	for opt in $(table_short "$src"); do
		all_short="$all_short $opt"
		is_refused "$opt" && continue
		has "$what mentions -$opt ($file)" "$help_out" \
			"$(sh_short_re "$opt")"
	done
done

# shellcheck disable=SC2086 # split on purpose
long=$(printf "%s\n" $all_long | sort -u)
# shellcheck disable=SC2086
short=$(printf "%s\n" $all_short | sort -u)
if [ -n "$long" ]; then
	ok "long options found in cmd/*.c: $(tr '\n' ' ' <<<"$long")"
else
	not_ok "long options found in cmd/*.c"
fi

# The tags of the manual's lists (the line after each .TP): where an option
# is described rather than only named.
awk '/^\.TP/ { if ((getline line) > 0) print line }' "$MAN" >"$TMP/man tags"

for opt in $long; do
	has "the manual has \\-\\-$opt" "$MAN" "$(man_long_re "$opt")"
	if is_refused "$opt"; then
		for f in "$COMP_BASH" "$COMP_ZSH"; do
			hasnt "${f#"$ROOT"/} does not offer refused --$opt" \
				"$f" "$(sh_long_re "$opt")"
		done
		hasnt "completions/dlock.fish does not offer refused --$opt" \
			"$COMP_FISH" "$(fish_long_re "$opt")"
		continue
	fi
	has "the manual describes \\-\\-$opt under a .TP tag" "$TMP/man tags" \
		"$(man_long_re "$opt")"
	has "completions/dlock.bash has --$opt" "$COMP_BASH" "$(sh_long_re "$opt")"
	has "completions/_dlock has --$opt" "$COMP_ZSH" "$(sh_long_re "$opt")"
	has "completions/dlock.fish has --$opt" "$COMP_FISH" "$(fish_long_re "$opt")"
done

for opt in $short; do
	has "the manual has \\-$opt" "$MAN" "$(man_short_re "$opt")"
	is_refused "$opt" && continue
	has "the manual describes \\-$opt under a .TP tag" "$TMP/man tags" \
		"$(man_short_re "$opt")"
	has "completions/dlock.bash has -$opt" "$COMP_BASH" "$(sh_short_re "$opt")"
	has "completions/_dlock has -$opt" "$COMP_ZSH" "$(sh_short_re "$opt")"
	has "completions/dlock.fish has -$opt" "$COMP_FISH" "$(fish_short_re "$opt")"
done

for opt in $REFUSED_LONG; do
	"$DLOCK" run "--$opt" k true >/dev/null 2>"$TMP/err"
	is "'dlock run --$opt' is refused as a usage error" 64 $?
	like "'dlock run --$opt' says why" "$(cat "$TMP/err")" 'renew'
done
for opt in $REFUSED_SHORT; do
	"$DLOCK" run "-$opt" k true >/dev/null 2>"$TMP/err"
	is "'dlock run -$opt' is refused as a usage error" 64 $?
done

# Commands listed by --help are in the manual and every completion.
commands=$("$DLOCK" --help | sed -n '/^Commands:/,/^$/p' |
	sed -nE 's/^  ([a-z][a-z-]*) .*/\1/p')
if [ -n "$commands" ]; then
	ok "commands listed by --help: $(tr '\n' ' ' <<<"$commands")"
else
	not_ok "commands listed by --help" "no 'Commands:' section found"
fi
sed -n '/^\.SH COMMANDS/,/^\.SH [^C]/p' "$MAN" >"$TMP/man-commands"
for c in $commands; do
	has "the manual's COMMANDS has '$c'" "$TMP/man-commands" "\\b$c\\b"
	for f in "$COMP_BASH" "$COMP_ZSH" "$COMP_FISH"; do
		has "${f#"$ROOT"/} knows command '$c'" "$f" "\\b$c\\b"
	done
done

version=$("$DLOCK" --version)
has "the manual's .TH names '$version'" "$MAN" "^\\.TH .*\"\\Q$version\\E\""

# --- the manual renders --------------------------------------------------------

if command -v man >/dev/null 2>&1; then
	# A fixed locale and width: the result must not depend on the caller's.
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 \
		man --warnings -E UTF-8 -l "$MAN" 2>&1 >"$TMP/man.txt")
	is "man --warnings is silent on man/dlock.1" "" "$warnings"
	like "man renders the EXIT STATUS section" "$(cat "$TMP/man.txt")" \
		'EXIT STATUS'
else
	not_ok "man renders man/dlock.1" \
		"man is not installed: install man-db ('make deps' as root, or 'apt-get install man-db')"
fi

# --- the completions load ------------------------------------------------------

out=$(bash -c 'source "$1" && complete -p dlock' bash "$COMP_BASH" 2>&1)
is "bash sources completions/dlock.bash silently and registers it" \
	"complete -F _dlock dlock" "$out"

# bash_complete LINE: what the bash completion offers at the end of LINE
# (words without ':' or '=', so splitting on blanks is what bash does).
cat >"$TMP/complete.bash" <<'EOF'
source "$1"
COMP_LINE=$2
COMP_POINT=${#2}
read -ra COMP_WORDS <<<"$2"
[[ $2 == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_dlock dlock "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}"
EOF
bash_complete() {
	bash "$TMP/complete.bash" "$COMP_BASH" "$1" 2>/dev/null | sort | tr '\n' ' '
}
is "bash completes the commands" "help run " "$(bash_complete 'dlock ')"
is "bash completes run options" "--timeout --ttl " \
	"$(bash_complete 'dlock run --t')"
is "bash completes global options after run" "--url --user " \
	"$(bash_complete 'dlock run --u')"
is "bash offers nothing for -c's string" "" "$(bash_complete 'dlock run -c ')"
like "bash completes the command after the lock name" \
	"$(bash_complete 'dlock run -n k -- printen')" '(^| )printenv( |$)'
like "bash completes durations for -w" "$(bash_complete 'dlock run -w ')" \
	'(^| )10m( |$)'

if command -v zsh >/dev/null 2>&1; then
	out=$(zsh -n "$COMP_ZSH" 2>&1)
	is "zsh -n accepts completions/_dlock" "" "$out"
	out=$(cd "$TMP" && HOME=$TMP zsh -fc 'fpath=("$1" $fpath)
		autoload -Uz compinit && compinit -u -D
		print -r -- $_comps[dlock]' zsh "$ROOT/completions" 2>&1)
	is "compinit picks up completions/_dlock for dlock" "_dlock" "$out"
else
	skip "zsh is not installed: completions/_dlock not checked"
fi

if command -v fish >/dev/null 2>&1; then
	fish_env() {
		HOME=$TMP XDG_CONFIG_HOME=$TMP/.config XDG_DATA_HOME=$TMP/.local \
			fish "$@"
	}
	out=$(fish_env -n "$COMP_FISH" 2>&1)
	is "fish -n accepts completions/dlock.fish" "" "$out"
	fish_complete() {
		# shellcheck disable=SC2016 # fish expands $argv
		fish_env -c 'source $argv[1]; complete -C $argv[2]' \
			"$COMP_FISH" "$1" 2>&1 | cut -f1 | sort | tr '\n' ' '
	}
	is "fish completes the commands" "help run " "$(fish_complete 'dlock ')"
	is "fish completes run options" "--timeout --ttl " \
		"$(fish_complete 'dlock run --t')"
	like "fish completes the command after the lock name" \
		"$(fish_complete 'dlock run -n k -- printen')" \
		'(^| )printenv( |$)'
else
	skip "fish is not installed: completions/dlock.fish not checked"
fi

done_testing
