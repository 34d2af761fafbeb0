# bash completion for dlock(1)                              -*- shell-script -*-
# Works on its own; with the bash-completion package installed, the command
# that dlock runs is completed as if it were typed alone. Lock names come
# from "dlock list" when a server answers within 300ms.
# shellcheck shell=bash

_dlock_commands='run status list acquire renew release doctor help'
_dlock_global_opts='--url --prefix --connect-timeout --user --password-file
	--sentinel-user --sentinel-password-file
	--config --tls-ca --tls-cert --tls-key --tls-server-name'
# The options of each command, besides the global ones.
_dlock_run_opts='-n --nonblock --nb -w --timeout --wait -E
	--conflict-exit-code -c --command -x --exclusive -s --shared --limit
	--fifo --no-fifo --ttl --on-lost --kill-after --lost-exit-code
	--max-hold --lock-delay --wait-replicas -q --quiet --verbose -h --help'
_dlock_acquire_opts='-n --nonblock --nb -w --timeout --wait -E
	--conflict-exit-code -x --exclusive -s --shared --limit --fifo
	--no-fifo --ttl --lock-delay --wait-replicas -q --quiet --verbose -h
	--help'
_dlock_status_opts='--json -q --quiet -h --help'
_dlock_list_opts='--json -h --help'
_dlock_renew_opts='--owner --ttl --wait-replicas -h --help'
_dlock_release_opts='--owner --force -h --help'
_dlock_doctor_opts='-h --help'

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

# A word as the shell will pass it, for the simple cases: without the
# quotes around it, and with a leading ~/ expanded.
_dlock_unquote() {
	local v=$1
	case $v in
	\'*\') v=${v:1:${#v}-2} ;;
	\"*\") v=${v:1:${#v}-2} ;;
	esac
	# shellcheck disable=SC2088 # a literal ~/ typed on the command line
	[[ $v == '~/'* ]] && v=$HOME/${v:2}
	printf '%s' "$v"
}

# The lock names that "dlock list" prints, with the connection options of
# the command line (in _dlock_conn), that start with $1. Silent when the
# server cannot be reached within 300ms.
_dlock_locks() {
	local cur=$1 cmd name
	cmd=$(_dlock_unquote "${_dlock_w[0]}")
	type -P -- "$cmd" >/dev/null 2>&1 || return 0
	while IFS= read -r name; do
		[[ -n $name && $name == "$cur"* ]] && COMPREPLY+=("$name")
	done < <("$cmd" "${_dlock_conn[@]}" --connect-timeout 300ms list \
		</dev/null 2>/dev/null | awk 'NR > 1 { print $1 }')
	_dlock_trim "$cur"
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
			_dlock_add "$pre" < <(compgen -W 'redis:// rediss:// redis+cluster:// unix:// redis+sentinel:// rediss+sentinel:// etcd:// etcds://' -- "$cur")
		fi
		;;
	--config | --password-file | --sentinel-password-file | --tls-ca | \
		--tls-cert | --tls-key)
		_dlock_files "$cur" "$pre"
		;;
	--wait-replicas)
		_dlock_add "$pre" < <(compgen -W '0 1 2' -- "$cur")
		;;
	--connect-timeout)
		_dlock_add "$pre" < <(compgen -W '300ms 500ms 1s 2s 3s 5s 10s 30s' -- "$cur")
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
	# --user, --tls-server-name, --owner, -E, --lost-exit-code and -c take
	# a value of the user's own: nothing to offer.
	return 0
}

# Whether word $1 is an option of command $2 ("" before the command) whose
# value is the next word.
_dlock_takes_value() {
	case $1 in
	--url | --prefix | --connect-timeout | --user | --password-file | \
		--sentinel-user | --sentinel-password-file | \
		--config | --tls-ca | --tls-cert | --tls-key | --tls-server-name)
		return 0
		;;
	esac
	case $2 in
	run | acquire)
		case $1 in
		--timeout | --wait | --conflict-exit-code | --command | --ttl | \
			--on-lost | --kill-after | --lost-exit-code | --max-hold | \
			--lock-delay | --limit | --wait-replicas)
			return 0
			;;
		--*) return 1 ;;
		# a cluster such as -nw ends with the letter that takes the value
		-*) [[ $1 =~ ^-[nxsqhF]*[wEc]$ ]] ;;
		*) return 1 ;;
		esac
		;;
	renew | release)
		[[ $1 == --owner || $1 == --ttl || $1 == --wait-replicas ]]
		;;
	*)
		return 1
		;;
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
	local -a _dlock_conn=()
	local cur i w opt cmd='' operands=0 after='' first=0 v
	COMPREPLY=()
	_dlock_words
	cur=${_dlock_w[_dlock_cw]}

	for ((i = 1; i < _dlock_cw; i++)); do
		w=${_dlock_w[i]}
		if [[ $cmd == run ]] && ((operands > 0)); then
			# just after NAME: "--", "-c STRING" or the command
			case $w in
			--) after=wrapped first=$((i + 1)) ;;
			-c | --command) after=shell ;;
			*) after=wrapped first=$i ;;
			esac
			break
		fi
		if [[ $cmd == help ]]; then
			operands=$((operands + 1))
			continue
		fi
		if _dlock_takes_value "$w" "$cmd"; then
			if ((i + 1 == _dlock_cw)); then
				opt=$w
				[[ $w == -[!-]* ]] && opt=-${w: -1}
				_dlock_value "$opt" "$cur" ''
				_dlock_trim "$cur"
				return 0
			fi
			case $w in
			--url | --prefix | --user | --password-file | --config | \
				--sentinel-user | --sentinel-password-file | \
				--tls-ca | --tls-cert | --tls-key | --tls-server-name)
				v=$(_dlock_unquote "${_dlock_w[i + 1]}")
				_dlock_conn+=("$w" "$v")
				;;
			esac
			i=$((i + 1))
			continue
		fi
		case $w in
		--url=* | --prefix=* | --user=* | --password-file=* | --config=* | \
			--sentinel-user=* | --sentinel-password-file=* | \
			--tls-ca=* | --tls-cert=* | --tls-key=* | --tls-server-name=*)
			v=$(_dlock_unquote "${w#*=}")
			_dlock_conn+=("${w%%=*}=$v")
			;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				case " $_dlock_commands " in
				*" $w "*) cmd=$w ;;
				*) return 0 ;;
				esac
			else
				operands=$((operands + 1))
			fi
			;;
		esac
	done

	if [[ $cmd == run ]] && ((operands > 0)); then
		case $after in
		'')
			if [[ $cur == -* ]]; then
				_dlock_add '' < <(compgen -W '-- -c --command' -- "$cur")
			else
				_dlock_wrapped "$_dlock_cw" "$cur"
			fi
			;;
		wrapped) _dlock_wrapped "$first" "$cur" ;;
		esac
		return 0
	fi

	case $cmd in
	help)
		((operands == 0)) &&
			_dlock_add '' < <(compgen -W "${_dlock_commands% help}" -- "$cur")
		return 0
		;;
	acquire | doctor)
		# options come before NAME; doctor takes no NAME
		((operands == 0)) || return 0
		;;
	esac

	if [[ $cur == --*=* ]]; then
		_dlock_takes_value "${cur%%=*}" "$cmd" &&
			_dlock_value "${cur%%=*}" "${cur#*=}" "${cur%%=*}="
		_dlock_trim "$cur"
	elif [[ $cur == -* ]]; then
		if [[ -z $cmd ]]; then
			opt="$_dlock_global_opts -h --help -V --version"
		else
			v=_dlock_${cmd}_opts
			opt="$_dlock_global_opts ${!v}"
		fi
		_dlock_add '' < <(compgen -W "$opt" -- "$cur")
	elif [[ -z $cmd ]]; then
		_dlock_add '' < <(compgen -W "$_dlock_commands" -- "$cur")
	elif ((operands == 0)) && [[ $cmd != doctor ]]; then
		_dlock_locks "$cur"
	fi
	return 0
}

complete -F _dlock dlock
