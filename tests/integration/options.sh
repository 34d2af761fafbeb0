#!/usr/bin/env bash
# Every command of the command table and every option the code takes, per
# command, is in that command's --help, the manual and the three completions
# (util-linux checkcompletion.sh), and the completions offer each command
# exactly its own options; --help works and fails on a full disk; the
# manual renders without warnings; the completions load, and complete lock
# names from "dlock list" (a stand-in here). Needs no redis-server.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$ROOT/man/dlock.1
COMP_BASH=$ROOT/completions/dlock.bash
COMP_ZSH=$ROOT/completions/_dlock
COMP_FISH=$ROOT/completions/dlock.fish

# flock(1)'s -F cannot exist (nothing would renew the lease): dlock run
# takes it only to refuse it with a message saying why.
FLOCK_REFUSED="no-fork F"

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
	"$TMP/man JSON tags") echo "the .TP tags of the JSON section of man/dlock.1" ;;
	"$TMP/man "*) echo "the part of man/dlock.1 about ${1#"$TMP/man "}" ;;
	"$TMP/options of "*) echo "the option lists of '${1#"$TMP/options of "}'" ;;
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

# is_refused OPTION: an option that exists only to be refused: no command
# takes it (the manual explains it; --help and the completions do not
# offer it).
is_refused() {
	in_list "$1" "$REFUSED_LONG $REFUSED_SHORT"
}

# in_list WORD LIST: WORD is one of the words of LIST.
in_list() {
	# shellcheck disable=SC2046,SC2086 # split LIST into words
	case " $(echo $2) " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# What the option tables of cmd/ say, as the hidden "dlock --dump-options"
# prints them: a line "COMMAND [options-first]" for each command ("main"
# for the options before any command), then one "COMMAND -x|--long
# flag|value [refused] [global]" for each option it takes.
DUMP=$TMP/dump-options

# The commands of the command table.
command_table() {
	awk '$2 !~ /^-/ && $1 != "main" { print $1 }' "$DUMP"
}

# The options of command $1 (long names, and short letters, without
# dashes) whose lines match the awk condition $2.
table_options() {
	awk -v c="$1" '$1 == c && $2 ~ /^-/ && ('"$2"') {
		sub(/^--?/, "", $2)
		print $2
	}' "$DUMP" | sort -u
}

# The long options of command $1, refused ones included.
table_long() { table_options "$1" '$2 ~ /^--/'; }

# Its short options.
table_short() { table_options "$1" '$2 !~ /^--/'; }

# Its options, long and short, that take a value.
table_with_value() { table_options "$1" '$3 == "value"'; }

# Those it refuses (with a message saying why: -F, a run option given to
# acquire, --ttl given to release).
table_refused() { table_options "$1" '$4 == "refused"'; }

# Those of the global table (the same for every command).
table_global() { table_options "$1" '$NF == "global"'; }

# Whether command $1's options must come before its operands.
options_first() {
	awk -v c="$1" '$1 == c && $2 == "options-first" { f = 1 } END { exit !f }' \
		"$DUMP"
}

# The lines of a --help text in its option lists: from "Options:" or
# "... options (...):" to the next blank line.
option_lists() {
	awk '
	{ l = tolower($0) }
	l ~ /^([a-z][a-z ]* )?options( \(.*\))?:$/ { on = 1; next }
	/^$/ { on = 0 }
	on
	'
}

# The long options a --help text mentions.
help_long() {
	grep -oE -- '(^|[^a-zA-Z0-9-])--[a-z][a-z0-9-]*' | sed -E 's/.*--//' |
		sort -u
}

# The short options an option list mentions, as "-x".
help_short() {
	grep -oE -- '(^|[^a-zA-Z0-9-])-[a-zA-Z](,|[^a-zA-Z0-9-]|$)' |
		grep -oE -- '-[a-zA-Z]' | sed 's/^-//' | sort -u
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

# The part of the manual about command $1: its subsection of COMMANDS and a
# subsection named "$1 options" (such as "Run options"); for "global", the
# subsection "Global options".
man_part() {
	awk -v c="$1" '
	/^\.SH / { sh = $0 }
	/^\.S[SH] / { on = 0 }
	/^\.SS / {
		t = $0
		sub(/^\.SS +/, "", t)
		gsub(/"/, "", t)
		t = tolower(t)
		if ((sh == ".SH COMMANDS" && t == c) || t == c " options")
			on = 1
	}
	on
	' "$MAN"
}

words() { printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' '; }

for f in "$MAN" "$COMP_BASH" "$COMP_ZSH" "$COMP_FISH"; do
	if [ ! -f "$f" ]; then
		echo "Bail out! ${f#"$ROOT"/} is missing"
		exit 1
	fi
done

# --- the command table ----------------------------------------------------------

if ! "$DLOCK" --dump-options >"$DUMP" 2>"$TMP/err" || [ -s "$TMP/err" ]; then
	echo "Bail out! dlock --dump-options failed: $(cat "$TMP/err")"
	exit 1
fi
commands=$(command_table)
if [ -n "$commands" ]; then
	ok "commands in the table of cmd/main.c: $(words $commands)"
else
	echo "Bail out! no command found in dlock --dump-options"
	exit 1
fi
like "dlock --dump-options is hidden from dlock --help" \
	"$("$DLOCK" --help | grep -c -- '--dump-options')" '^0$'

# --- --help -----------------------------------------------------------------

for args in "--help" "-h" "help" "--version" \
	$(for c in $commands; do printf '%s\n' "$c:--help" "$c:-h" "help:$c"; done); do
	args=${args//:/ }
	# shellcheck disable=SC2086 # $args is several words on purpose
	out=$("$DLOCK" $args 2>"$TMP/err")
	st=$?
	is "'dlock $args' exits 0" 0 "$st"
	like "'dlock $args' prints on stdout" "$out" '^(Usage: dlock|dlock [0-9])'
	is "'dlock $args' prints nothing on stderr" "" "$(cat "$TMP/err")"
done
for c in $commands; do
	like "'dlock $c --help' is the usage of $c" \
		"$("$DLOCK" "$c" --help | head -n 1)" "^Usage: dlock $c( |$)"
	is "'dlock help $c' is 'dlock $c --help'" "$("$DLOCK" "$c" --help)" \
		"$("$DLOCK" help "$c" 2>&1)"
done
is "'dlock help' is 'dlock --help'" "$("$DLOCK" --help)" \
	"$("$DLOCK" help 2>&1)"

if [ -w /dev/full ]; then
	for args in "--help" "help" "--version" \
		$(for c in $commands; do printf '%s\n' "$c:--help" "help:$c"; done); do
		args=${args//:/ }
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

# --- the options of each command, from its table -------------------------------

# For each command C (and "main" for the options before any command):
# LONG[C], SHORT[C] (its options, refused ones left out), REFUSES[C] (the
# options of its table it refuses) and PLUS[C] (1 when its options must
# come before its operands).
GLOBAL_LONG=$(table_global main)
declare -A LONG SHORT PLUS REFUSES
all_long=
all_short=
accepted=

for c in main $commands; do
	long=$(table_long "$c")
	short=$(table_short "$c")
	if [ -z "$long" ]; then
		not_ok "dlock $c: long options in dlock --dump-options" \
			"it lists none"
		continue
	fi
	all_long="$all_long $long"
	all_short="$all_short $short"
	REFUSES[$c]=$(table_refused "$c")
	LONG[$c]=$(for o in $long; do in_list "$o" "${REFUSES[$c]}" || printf '%s\n' "$o"; done)
	SHORT[$c]=$(for o in $short; do in_list "$o" "${REFUSES[$c]}" || printf '%s\n' "$o"; done)
	accepted="$accepted ${LONG[$c]} ${SHORT[$c]}"
	if options_first "$c"; then
		PLUS[$c]=1
	else
		PLUS[$c]=0
	fi
	# shellcheck disable=SC2046,SC2086 # lists of words on purpose
	is "dlock $c takes the global options" "$(words $GLOBAL_LONG)" \
		"$(words $(table_global "$c"))"
	ok "dlock $c: $(words ${LONG[$c]}) $(words ${SHORT[$c]})"
done

# The options no command takes: they exist only to be refused.
REFUSED_LONG=$(for o in $all_long; do in_list "$o" "$accepted" || echo "$o"; done | sort -u)
REFUSED_SHORT=$(for o in $all_short; do in_list "$o" "$accepted" || echo "$o"; done | sort -u)
for o in $FLOCK_REFUSED; do
	if in_list "$o" "${REFUSES[run]:-}" && is_refused "$o"; then
		ok "flock's $o is refused by dlock run, and taken by no command"
	else
		not_ok "flock's $o is refused by dlock run, and taken by no command" \
			"refused by run: $(words ${REFUSES[run]:-})" \
			"taken by no command: $(words $REFUSED_LONG $REFUSED_SHORT)"
	fi
done

# What the tables list, the parser takes: not an unknown option.
for c in main $commands; do
	for o in ${LONG[$c]} ${SHORT[$c]}; do
		if [ ${#o} -eq 1 ]; then
			set -- "-$o"
		else
			set -- "--$o"
		fi
		in_list "$o" "$(table_with_value "$c")" && set -- "$1" 1
		if [ "$c" = main ]; then
			"$DLOCK" "$@" --help >/dev/null 2>"$TMP/err"
		else
			"$DLOCK" "$c" "$@" --help >/dev/null 2>"$TMP/err"
		fi
		unlike "dlock $c takes $*" "$(cat "$TMP/err")" 'unknown option'
	done
done

# A refusal is a usage error that says why, not an unknown option.
for c in $commands; do
	for o in ${REFUSES[$c]:-}; do
		if [ ${#o} -eq 1 ]; then
			set -- "-$o"
		else
			set -- "--$o"
		fi
		in_list "$o" "$(table_with_value "$c")" && set -- "$1" 1
		"$DLOCK" "$c" "$@" k >/dev/null 2>"$TMP/err"
		st=$?
		is "'dlock $c $*' is refused as a usage error" 64 "$st"
		unlike "'dlock $c $*' is refused, not unknown" "$(cat "$TMP/err")" \
			'unknown option'
		is_refused "$o" && continue
		like "'dlock $c $*' says $c does not take it" "$(cat "$TMP/err")" \
			"^dlock: $c takes (no --$o|a lock name and the options of .* only)"
	done
done

# shellcheck disable=SC2086 # split on purpose
long=$(printf "%s\n" $all_long | sort -u)
# shellcheck disable=SC2086
short=$(printf "%s\n" $all_short | sort -u)
if [ -n "$long" ]; then
	ok "long options in dlock --dump-options: $(tr '\n' ' ' <<<"$long")"
else
	not_ok "long options in dlock --dump-options"
fi

# --- each command's options in its --help ---------------------------------------

for c in main $commands; do
	if [ "$c" = main ]; then
		what="dlock --help"
		"$DLOCK" --help >"$TMP/$what" 2>&1
	else
		what="dlock $c --help"
		"$DLOCK" "$c" --help >"$TMP/$what" 2>&1
	fi
	option_lists <"$TMP/$what" >"$TMP/options of $what"
	[ -s "$TMP/options of $what" ] ||
		not_ok "$what has an option list" "no 'Options:' block found"
	for o in ${LONG[$c]}; do
		has "$what lists --$o" "$TMP/options of $what" \
			"$(sh_long_re "$o")"
	done
	for o in ${SHORT[$c]}; do
		has "$what lists -$o" "$TMP/options of $what" \
			"$(sh_short_re "$o")"
	done
	# What the option lists offer, the command takes.
	for o in $(help_long <"$TMP/options of $what"); do
		if in_list "$o" "${LONG[$c]}"; then
			ok "$what: --$o is an option of dlock $c"
		else
			not_ok "$what: --$o is an option of dlock $c" \
				"--help lists an option that dlock $c does not take"
		fi
	done
	for o in $(help_short <"$TMP/options of $what"); do
		if in_list "$o" "${SHORT[$c]}"; then
			ok "$what: -$o is an option of dlock $c"
		else
			not_ok "$what: -$o is an option of dlock $c" \
				"--help lists an option that dlock $c does not take"
		fi
	done
done

# Options named anywhere in a --help are options of some command.
for o in $(help_long <"$TMP/dlock --help"); do
	if grep -qx -- "$o" <<<"$long"; then
		ok "dlock --help: --$o is an option of a command"
	else
		not_ok "dlock --help: --$o is an option of a command" \
			"--help names an option that no command takes"
	fi
done

# --- the manual ------------------------------------------------------------------

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

for opt in $FLOCK_REFUSED; do
	if [ ${#opt} -eq 1 ]; then
		arg=-$opt
	else
		arg=--$opt
	fi
	"$DLOCK" run "$arg" k true >/dev/null 2>"$TMP/err"
	is "'dlock run $arg' is refused as a usage error" 64 $?
	like "'dlock run $arg' says why" "$(cat "$TMP/err")" 'renew'
done

# Each command's own options are in the part of the manual about it; the
# options every command takes, and those before any command, are under
# "Global options".
man_part global >"$TMP/man global options"
for c in main $commands; do
	if [ "$c" = main ]; then
		part="$TMP/man global options"
	else
		part="$TMP/man $c"
		man_part "$c" >"$part"
		if [ ! -s "$part" ]; then
			not_ok "the manual's COMMANDS has a subsection '$c'" \
				"no '.SS $c' under .SH COMMANDS"
			continue
		fi
		ok "the manual's COMMANDS has a subsection '$c'"
	fi
	for o in ${LONG[$c]}; do
		if [ "$c" != main ] && in_list "$o" "$GLOBAL_LONG"; then
			has "the manual's Global options have \\-\\-$o (dlock $c)" \
				"$TMP/man global options" "$(man_long_re "$o")"
		else
			has "the manual's part about $c has \\-\\-$o" "$part" \
				"$(man_long_re "$o")"
		fi
	done
	for o in ${SHORT[$c]}; do
		has "the manual's part about $c has \\-$o" "$part" \
			"$(man_short_re "$o")"
	done
done

# The JSON section describes, under a .TP tag, every field that cmd/show.c
# prints (json_time() prints KEY and KEY_ms).
json_keys=$(
	{
		grep -oE '\\"[a-z_]+\\":' "$ROOT/cmd/show.c" |
			sed -E 's/\\"([a-z_]+)\\":/\1/'
		grep -oE 'json_time\("[a-z_]+"' "$ROOT/cmd/show.c" |
			sed -E 's/.*"([a-z_]+)"/\1 \1_ms/' | tr ' ' '\n'
	} | sort -u
)
if [ -n "$json_keys" ]; then
	ok "JSON fields printed by cmd/show.c: $(words $json_keys)"
else
	not_ok "JSON fields printed by cmd/show.c" "the parser in this test found none"
fi
sed -n '/^\.SH JSON/,/^\.SH [^J]/p' "$MAN" |
	awk '/^\.TP/ { if ((getline line) > 0) print line }' >"$TMP/man JSON tags"
for k in $json_keys; do
	has "the manual's JSON section describes '$k'" "$TMP/man JSON tags" \
		"(?<![a-z_])\\Q$k\\E(?![a-z_])"
done

# Commands: listed by --help, in the manual's SYNOPSIS and COMMANDS, and in
# every completion.
listed=$("$DLOCK" --help | sed -n '/^Commands:/,/^$/p' |
	sed -nE 's/^  ([a-z][a-z-]*) .*/\1/p')
is "dlock --help lists the commands of the table, and help" \
	"$(words $commands help)" "$(words $listed)"
sed -n '/^\.SH SYNOPSIS/,/^\.SH [^S]/p' "$MAN" >"$TMP/man synopsis"
sed -n '/^\.SH COMMANDS/,/^\.SH [^C]/p' "$MAN" >"$TMP/man commands"
for c in $commands help; do
	has "the manual's SYNOPSIS has '$c'" "$TMP/man synopsis" "^\\.B $c\$"
	has "the manual's COMMANDS has '$c'" "$TMP/man commands" "^\\.SS $c\$"
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
	like "man renders the JSON section" "$(cat "$TMP/man.txt")" '^JSON$'
	like "man renders 'Scripts that lock across steps'" \
		"$(cat "$TMP/man.txt")" '^ +Scripts that lock across steps$'
else
	not_ok "man renders man/dlock.1" \
		"man is not installed: install man-db ('make deps' as root, or 'apt-get install man-db')"
fi

# --- the completions -------------------------------------------------------------

# A stand-in for dlock, first in $PATH when a completion is to ask it for
# lock names: it logs its arguments and prints what "dlock list" prints,
# or fails as against an unreachable server when $STUB_FAIL is set.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/dlock" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$STUB_LOG"
if [ -n "${STUB_FAIL:-}" ]; then
	echo "dlock: cannot connect to redis://127.0.0.1:6379" >&2
	exit 69
fi
case " $* " in
*" list "*) ;;
*) exit 64 ;;
esac
line() { printf '%-24s %-9s %-28s %-8s %-8s %s\n' "$@"; }
line NAME MODE HOLDER HELD LEFT WAITERS
line db-migrate exclusive ci7:4242 1m12s 23.0s 1
line deploy/prod exclusive ci7:4243 1.0s 29.0s 0
line deploy/staging shared '2 holders' 4.5s 25.5s 0
EOF
chmod +x "$TMP/bin/dlock"
export STUB_LOG=$TMP/stub.log
# $PATH without any dlock (one installed here must not answer), and with
# the stand-in first.
NO_PATH=$(
	IFS=:
	for d in $PATH; do
		[ -n "$d" ] && [ ! -x "$d/dlock" ] && printf '%s:' "$d"
	done
)
NO_PATH=${NO_PATH%:}
STUB_PATH=$TMP/bin:$NO_PATH
LOCKS="db-migrate deploy/prod deploy/staging "
NAME_RE='(^| )(db-migrate|deploy/)'

# stub_args: the arguments of the last call of the stand-in.
stub_args() { tail -n 1 "$STUB_LOG" 2>/dev/null; }

# expected_options C: what completing "-" offers for command C (main: no
# command yet).
expected_options() {
	local o
	{
		for o in ${LONG[$1]}; do printf -- '--%s\n' "$o"; done
		for o in ${SHORT[$1]}; do printf -- '-%s\n' "$o"; done
	} | sort | tr '\n' ' '
}

# check_completions SHELL FUNCTION: the checks that hold for every shell,
# with FUNCTION LINE printing the sorted candidates at the end of LINE.
check_completions() {
	local sh=$1 complete=$2 c
	is "$sh completes the commands" "$(words $commands help)" \
		"$(PATH=$NO_PATH $complete 'dlock ')"
	is "$sh completes the commands after help" "$(words $commands)" \
		"$(PATH=$NO_PATH $complete 'dlock help ')"
	is "$sh completes the options before a command" \
		"$(expected_options main)" "$(PATH=$NO_PATH $complete 'dlock -')"
	for c in $commands; do
		is "$sh completes the options of $c, and only those" \
			"$(expected_options "$c")" "$(PATH=$NO_PATH $complete "dlock $c -")"
		if [ "${PLUS[$c]}" = 0 ]; then
			is "$sh completes the options of $c after its operand" \
				"$(expected_options "$c")" \
				"$(PATH=$NO_PATH $complete "dlock $c k -")"
		fi
	done
	is "$sh completes run options" "--timeout --ttl " \
		"$(PATH=$NO_PATH $complete 'dlock run --t' | tr ' ' '\n' |
		   grep -v -- '--tls-' | tr '\n' ' ')"
	is "$sh completes global options after run" "--url --user " \
		"$(PATH=$NO_PATH $complete 'dlock run --u')"
	like "$sh completes the command after the lock name" \
		"$(PATH=$NO_PATH $complete 'dlock run -n k -- printen')" \
		'(^| )printenv( |$)'
	like "$sh completes durations for -w" \
		"$(PATH=$NO_PATH $complete 'dlock run -w ')" '(^| )10m( |$)'
	like "$sh completes durations for renew --ttl" \
		"$(PATH=$NO_PATH $complete 'dlock renew k --ttl ')" '(^| )30s( |$)'

	# Lock names, from "dlock list".
	for c in $commands; do
		rm -f "$STUB_LOG"
		case $c in
		doctor)
			unlike "$sh offers no lock name to doctor" \
				"$(PATH=$STUB_PATH $complete "dlock $c ")" "$NAME_RE"
			is "... and runs no dlock list for it" "" "$(stub_args)"
			;;
		*)
			is "$sh completes lock names for $c" "$LOCKS" \
				"$(PATH=$STUB_PATH $complete "dlock $c ")"
			is "... from dlock list with a short deadline" \
				"--connect-timeout 300ms list" "$(stub_args)"
			;;
		esac
	done
	is "$sh completes lock names that start with the word" \
		"deploy/prod deploy/staging " \
		"$(PATH=$STUB_PATH $complete 'dlock status -q dep')"
	is "$sh completes lock names after acquire's options" "$LOCKS" \
		"$(PATH=$STUB_PATH $complete 'dlock acquire -w 1m --ttl 5m ')"
	is "$sh completes lock names before renew's options" "$LOCKS" \
		"$(PATH=$STUB_PATH $complete 'dlock renew ')"
	rm -f "$STUB_LOG"
	PATH=$STUB_PATH $complete 'dlock --url redis://h --prefix app: status ' >/dev/null
	is "$sh asks the server and prefix of the command line" \
		"--url redis://h --prefix app: --connect-timeout 300ms list" \
		"$(stub_args)"
	rm -f "$STUB_LOG"
	PATH=$STUB_PATH $complete 'dlock release --prefix=app: --url=redis://h ' >/dev/null
	is "$sh passes --opt=value forms on" \
		"--prefix=app: --url=redis://h --connect-timeout 300ms list" \
		"$(stub_args)"
	# (zsh offers the options where no operand is left.)
	unlike "$sh offers no name after a name" \
		"$(PATH=$STUB_PATH $complete 'dlock status deploy/prod ')" "$NAME_RE"
	unlike "$sh offers no name after acquire's name" \
		"$(PATH=$STUB_PATH $complete 'dlock acquire deploy/prod ')" "$NAME_RE"
	out=$(STUB_FAIL=1 PATH=$STUB_PATH $complete 'dlock status ' 2>&1)
	is "$sh stays silent when the server cannot be reached" "" "$out"
	is "$sh stays silent without dlock" "" \
		"$(PATH=$NO_PATH $complete 'dlock status ' 2>&1)"
}

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
	bash "$TMP/complete.bash" "$COMP_BASH" "$1" | sort | tr '\n' ' '
}
check_completions bash bash_complete
is "bash offers nothing for -c's string" "" \
	"$(PATH=$NO_PATH bash_complete 'dlock run -c ')"

if command -v zsh >/dev/null 2>&1; then
	out=$(zsh -n "$COMP_ZSH" 2>&1)
	is "zsh -n accepts completions/_dlock" "" "$out"
	out=$(cd "$TMP" && HOME=$TMP zsh -fc 'fpath=("$1" $fpath)
		autoload -Uz compinit && compinit -u -D
		print -r -- $_comps[dlock]' zsh "$ROOT/completions" 2>&1)
	is "compinit picks up completions/_dlock for dlock" "_dlock" "$out"
	# zsh_complete LINE: what zsh offers at the end of LINE, typed into an
	# interactive zsh on a pseudo-terminal, with compadd wrapped to print
	# the matches (as zsh-capture-completion does).
	cat >"$TMP/complete.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
zpty z zsh -f -i
zpty -w z "source ${(q)1}"
repeat 20; do
	zpty -r z line
	[[ $line == ready* ]] && break
done
zpty -w z "$2"$'\t'
integer seen=0
while zpty -r z; do :; done | while IFS= read -r line; do
	if [[ $line == *$'\0\r' ]]; then
		(( seen++ )) && exit 0 || continue
	fi
	(( seen )) && print -r -- ${line%$'\r'}
done
EOF
	cat >"$TMP/init.zsh" <<EOF
PROMPT=
fpath=(${ROOT@Q}/completions \$fpath)
autoload -Uz compinit
compinit -u -D
bindkey '^M' undefined
bindkey '^J' undefined
bindkey '^I' complete-word
null-line() { print -r -- \$'\\0' }
compprefuncs=(null-line)
comppostfuncs=(null-line exit)
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
	if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
		builtin compadd "\$@"
		return
	fi
	local -a hits
	builtin compadd -A hits "\$@"
	(( \$#hits )) && print -rl -- \$IPREFIX\${^hits}
	builtin compadd "\$@"
}
print ready
EOF
	zsh_complete() {
		(cd "$TMP" && HOME=$TMP timeout 20 zsh -f "$TMP/complete.zsh" \
			"$TMP/init.zsh" "$1" 2>/dev/null) | sort -u | tr '\n' ' '
	}
	if [ -n "$(zsh_complete 'dlock ')" ]; then
		check_completions zsh zsh_complete
	else
		skip "zsh cannot be driven on a pseudo-terminal here (zsh/zpty)"
	fi
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
			"$COMP_FISH" "$1" | cut -f1 | sort | tr '\n' ' '
	}
	check_completions fish fish_complete
else
	skip "fish is not installed: completions/dlock.fish not checked"
fi

done_testing
