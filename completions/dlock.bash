# bash completion for dlock(1)                              -*- shell-script -*-
# Works on its own; with the bash-completion package installed, the command
# that dlock runs is completed as if it were typed alone.
# shellcheck shell=bash

_dlock_global_opts='--url --prefix --connect-timeout --user --password-file
	--config'
_dlock_run_opts='-n --nonblock --nb -w --timeout --wait -E
	--conflict-exit-code -c --command -x --exclusive -s --shared --limit
	--fifo --no-fifo --ttl --on-lost --kill-after --lost-exit-code
	--max-hold --lock-delay -q --quiet --verbose -h --help'

# Rebuilds the words bash split at ':' and '=' (URLs, --opt=value), so
# "redis://h:1" is one word. Sets _dlock_w (words), _dlock_wi (index of
# each word's first piece in COMP_WORDS) and _dlock_cw (the current word).
_dlock_words() {
	local line=$COMP_LINE piece trimmed i n=0
	_dlock_w=()
	_dlock_wi=()
	_dlock_cw=0
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		piece=${COMP_WORDS[i]}
		trimmed=${line#"${line%%[![:space:]]*}"}
		if ((i == 0)) || [[ $trimmed != "$line" ]] ||
			[[ $line != "$piece"* ]]; then
			_dlock_w[n]=$piece
			_dlock_wi[n]=$i
			n=$((n + 1))
		else
			_dlock_w[n - 1]+=$piece
		fi
		line=${trimmed#"$piece"}
		((i == COMP_CWORD)) && _dlock_cw=$((n - 1))
	done
}

# Bash replaces only the text after the last ':' or '=' of the word: drop
# what comes before it from every candidate.
_dlock_trim() {
	local cur=$1 brk='' pre i
	[[ $COMP_WORDBREAKS == *:* ]] && brk+=':'
	[[ $COMP_WORDBREAKS == *=* ]] && brk+='='
	[[ -n $brk ]] || return 0
	# shellcheck disable=SC2295 # $brk is meant as a pattern
	pre=${cur%"${cur##*[$brk]}"}
	[[ -n $pre ]] || return 0
	for i in "${!COMPREPLY[@]}"; do
		COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
	done
}

# Adds the candidates on stdin, one a line, each with $1 in front. Feed it
# with "< <(compgen ...)": in a pipeline it would run in a subshell.
_dlock_add() {
	local c
	while IFS= read -r c; do
		[[ -n $c ]] && COMPREPLY+=("$1$c")
	done
}

_dlock_files() {
	compopt -o filenames 2>/dev/null
	_dlock_add "$2" < <(compgen -f -- "$1")
}

# Completes the value $2 of option $1; $3 goes in front of each candidate.
_dlock_value() {
	local opt=$1 cur=$2 pre=$3
	case $opt in
	--url)
		if [[ $cur == unix://* ]]; then
			_dlock_files "${cur#unix://}" "${pre}unix://"
		else
			compopt -o nospace 2>/dev/null
			_dlock_add "$pre" < <(compgen -W 'redis:// unix://' -- "$cur")
		fi
		;;
	--config | --password-file)
		_dlock_files "$cur" "$pre"
		;;
	--connect-timeout)
		_dlock_add "$pre" < <(compgen -W '500ms 1s 2s 3s 5s 10s 30s' -- "$cur")
		;;
	-w | --timeout | --wait)
		_dlock_add "$pre" < <(compgen -W '0 10s 30s 1m 5m 10m 30m 1h' -- "$cur")
		;;
	--ttl)
		_dlock_add "$pre" < <(compgen -W '10s 30s 1m 2m 5m' -- "$cur")
		;;
	--on-lost)
		_dlock_add "$pre" < <(compgen -W 'TERM INT HUP QUIT KILL USR1 USR2' -- "$cur")
		;;
	--kill-after)
		_dlock_add "$pre" < <(compgen -W '0 1s 5s 10s 30s 1m' -- "$cur")
		;;
	--max-hold)
		_dlock_add "$pre" < <(compgen -W '1m 5m 10m 30m 1h 2h' -- "$cur")
		;;
	--lock-delay)
		_dlock_add "$pre" < <(compgen -W '0 5s 10s 30s 1m' -- "$cur")
		;;
	--limit)
		_dlock_add "$pre" < <(compgen -W '2 3 4 5 10' -- "$cur")
		;;
	--prefix)
		_dlock_add "$pre" < <(compgen -W 'dlock:' -- "$cur")
		;;
	esac
	# --user, -E, --lost-exit-code and -c take a value of the user's own:
	# nothing to offer.
	return 0
}

# Whether word $1 is an option whose value is the next word.
_dlock_takes_value() {
	case $1 in
	--url | --prefix | --connect-timeout | --user | --password-file | \
		--config) return 0 ;;
	--timeout | --wait | --conflict-exit-code | --command | --ttl | \
		--on-lost | --kill-after | --lost-exit-code | --max-hold | \
		--lock-delay | --limit)
		[[ $2 == run ]] ;;
	-*) # a cluster such as -nw ends with the letter that takes the value
		[[ $2 == run && $1 != --* && $1 =~ ^-[nxsqhF]*[wEc]$ ]] ;;
	*) return 1 ;;
	esac
}

# The command that dlock runs: its name, then its own completion.
_dlock_wrapped() {
	local first=$1 cur=$2
	if ((first == _dlock_cw)); then
		_dlock_add '' < <(compgen -c -- "$cur" | sort -u)
	elif declare -F _command_offset >/dev/null; then
		_command_offset "${_dlock_wi[first]}"
	else
		_dlock_files "$cur" ''
	fi
}

_dlock() {
	local _dlock_w _dlock_wi _dlock_cw
	local cur i w mode=global opt first
	COMPREPLY=()
	_dlock_words
	cur=${_dlock_w[_dlock_cw]}

	for ((i = 1; i < _dlock_cw; i++)); do
		w=${_dlock_w[i]}
		case $mode in
		global | run)
			if _dlock_takes_value "$w" "$mode"; then
				if ((i + 1 == _dlock_cw)); then
					opt=$w
					[[ $w == -[!-]* ]] && opt=-${w: -1}
					[[ $opt == -c || $opt == --command ||
						$opt == -E ]] && return 0
					_dlock_value "$opt" "$cur" ''
					_dlock_trim "$cur"
					return 0
				fi
				i=$((i + 1))
			elif [[ $w == -* ]]; then
				:
			elif [[ $mode == global ]]; then
				case $w in
				run) mode=run ;;
				help) mode=help ;;
				*) return 0 ;;
				esac
			else
				mode=name
			fi
			;;
		name) # just after NAME: "--", "-c STRING" or the command
			case $w in
			--) mode=wrapped first=$((i + 1)) ;;
			-c | --command) mode=shell ;;
			*)
				mode=wrapped
				first=$i
				break
				;;
			esac
			;;
		wrapped)
			break
			;;
		*)
			return 0
			;;
		esac
	done

	case $mode in
	global | run)
		if [[ $cur == --*=* ]]; then
			_dlock_value "${cur%%=*}" "${cur#*=}" "${cur%%=*}="
			_dlock_trim "$cur"
		elif [[ $cur == -* ]]; then
			if [[ $mode == global ]]; then
				opt="$_dlock_global_opts -h --help -V --version"
			else
				opt="$_dlock_global_opts $_dlock_run_opts"
			fi
			_dlock_add '' < <(compgen -W "$opt" -- "$cur")
		elif [[ $mode == global ]]; then
			_dlock_add '' < <(compgen -W 'run help' -- "$cur")
		fi
		# in run: the lock name, which is the user's to choose
		;;
	help)
		if [[ ${_dlock_w[_dlock_cw - 1]} == help ]]; then
			_dlock_add '' < <(compgen -W 'run' -- "$cur")
		fi
		;;
	name)
		if [[ $cur == -* ]]; then
			_dlock_add '' < <(compgen -W '-- -c --command' -- "$cur")
		else
			_dlock_wrapped "$_dlock_cw" "$cur"
		fi
		;;
	wrapped)
		_dlock_wrapped "$first" "$cur"
		;;
	esac
	return 0
}

complete -F _dlock dlock
