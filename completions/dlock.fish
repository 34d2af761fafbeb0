# fish completion for dlock(1)

# Where the command line is: "global" (no command yet); "run", "acquire",
# "status", "list", "renew", "release", "doctor" (among the options of that
# command, before its lock name); "status-after", "list-after",
# "renew-after", "release-after" (after the lock name, where options may
# still come); "help"; "name" (just after the lock name of run), "shell"
# (after -c), "wrapped" (the command dlock runs) or "none". For "wrapped",
# the command's tokens follow on further lines.
function __dlock_state
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l mode global
    while set -q tokens[1]
        set -l t $tokens[1]
        set -e tokens[1]
        switch $mode
            case global run acquire status list renew release doctor status-after list-after renew-after release-after
                set -l cmd (string replace -- -after '' $mode)
                switch $t
                    case --url --prefix --connect-timeout --user --password-file --sentinel-user --sentinel-password-file --config --tls-ca --tls-cert --tls-key --tls-server-name
                        set -e tokens[1]
                    case --timeout --wait --conflict-exit-code --command --ttl --on-lost --kill-after --lost-exit-code --max-hold --lock-delay --limit --wait-replicas
                        contains -- $cmd run acquire; and set -e tokens[1]
                        contains -- $t --ttl --wait-replicas; and contains -- $cmd renew release; and set -e tokens[1]
                    case --owner
                        contains -- $cmd renew release; and set -e tokens[1]
                    case '--*'
                    case '-*'
                        # a cluster such as -nw ends with the letter that takes the value
                        if contains -- $cmd run acquire; and string match -qr -- '^-[nxsqhF]*[wEc]$' $t
                            set -e tokens[1]
                        end
                    case '*'
                        switch $mode
                            case global
                                if contains -- $t run status list acquire renew release doctor help
                                    set mode $t
                                else
                                    set mode none
                                end
                            case run
                                set mode name
                            case status list renew release
                                set mode $mode-after
                            case '*'
                                set mode none
                        end
                end
            case name
                switch $t
                    case --
                        set mode wrapped
                    case -c --command
                        set mode shell
                    case '*'
                        set mode wrapped
                        set tokens $t $tokens
                end
                if test $mode = wrapped
                    echo wrapped
                    set -q tokens[1]; and printf '%s\n' $tokens
                    return
                end
            case '*'
                set mode none
                break
        end
    end
    echo $mode
end

function __dlock_in
    contains -- (__dlock_state)[1] $argv
end

# The command dlock runs: its name, then its own completion.
function __dlock_complete_wrapped
    set -l cmd (__dlock_state)[2..-1]
    set -q cmd[1]; and set cmd (string escape -- $cmd)
    complete --do-complete=(string join ' ' -- $cmd (commandline -ct))
end

# Server URLs: the schemes, then the socket path after unix://.
function __dlock_urls
    set -l cur (string replace -r -- '^--url=' '' (commandline -ct))
    if string match -q -- 'unix://*' $cur
        for f in (__fish_complete_path (string replace -- 'unix://' '' $cur))
            echo unix://$f
        end
    else
        printf '%s\t%s\n' 'redis://' 'TCP: redis://[user[:pass]@]host[:port][/db]' \
            'rediss://' 'TLS: rediss://[user[:pass]@]host[:port][/db]' \
            'redis+cluster://' 'Redis Cluster: redis+cluster://host[:port],host[:port]...' \
            'unix://' 'unix socket: unix:///path/to.sock[?db=N]' \
            'redis+sentinel://' 'Sentinel: redis+sentinel://h1[:p1],h2[:p2]/SERVICE[/db]' \
            'etcd://' 'etcd cluster: etcd://[user@]h1[:p1],h2[:p2]...' \
            'etcds://' 'etcd over TLS: etcds://[user@]h1[:p1],h2[:p2]...'
    end
end

# The lock names that "dlock list" prints, asked of the server the command
# line names (its --url, --prefix, --user, --password-file, --config and
# --tls-* options),
# with a 300ms deadline; nothing when it does not answer.
function __dlock_locks
    set -l tokens (commandline -opc)
    set -l cmd $tokens[1]
    set -e tokens[1]
    set -l conn
    while set -q tokens[1]
        switch $tokens[1]
            case --url --prefix --user --password-file --sentinel-user --sentinel-password-file --config --tls-ca --tls-cert --tls-key --tls-server-name
                set -q tokens[2]; and set conn $conn $tokens[1] $tokens[2]
                set -e tokens[1]
            case '--url=*' '--prefix=*' '--user=*' '--password-file=*' '--sentinel-user=*' '--sentinel-password-file=*' '--config=*' '--tls-ca=*' '--tls-cert=*' '--tls-key=*' '--tls-server-name=*'
                set conn $conn $tokens[1]
        end
        set -e tokens[1]
    end
    command -sq -- $cmd; or return
    set -l lines (command $cmd $conn --connect-timeout 300ms list </dev/null 2>/dev/null)
    set -e lines[1]
    for l in $lines
        string replace -r -- '\s.*' '' $l
    end
end

# No file names unless an option asks for one.
complete -c dlock -f

# Commands
complete -c dlock -n '__dlock_in global' -a run -d 'Run a command while holding a lock'
complete -c dlock -n '__dlock_in global' -a status -d 'Show who holds a lock, since when, and who waits'
complete -c dlock -n '__dlock_in global' -a list -d 'List the held locks'
complete -c dlock -n '__dlock_in global' -a acquire -d 'Take a lock for a script and print its owner token'
complete -c dlock -n '__dlock_in global' -a renew -d 'Extend a lock taken with acquire'
complete -c dlock -n '__dlock_in global' -a release -d 'Give back a lock taken with acquire, or evict'
complete -c dlock -n '__dlock_in global' -a doctor -d 'Check the server and the ACL rights dlock needs'
complete -c dlock -n '__dlock_in global' -a help -d 'Show the help of a command'
complete -c dlock -n '__dlock_in help' -a 'run status list acquire renew release doctor'

# Global options, before or after the command name
set -l __dlock_anywhere global run acquire status list renew release doctor status-after list-after renew-after release-after
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l url -x -a '(__dlock_urls)' -d 'Redis server (no default)'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l prefix -x -a 'dlock:' -d 'Key namespace (default dlock:)'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l connect-timeout -x -a '300ms 500ms 1s 2s 3s 5s 10s' -d 'Deadline to connect and for each request'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l user -x -d 'Redis ACL user name, or etcd user'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l password-file -r -F -d 'Read the password from the first line of a file'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l sentinel-user -x -d 'ACL user name for the sentinels'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l sentinel-password-file -r -F -d 'Read the sentinels password from a file'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l config -r -F -d 'Read settings from a file'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l tls-ca -r -F -d 'CA bundle to verify a rediss:// server'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l tls-cert -r -F -d 'Client certificate for rediss://'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l tls-key -r -F -d 'Key of the client certificate'
complete -c dlock -n "__dlock_in $__dlock_anywhere" -l tls-server-name -x -d 'Name to verify and send (SNI) instead of the URL host'
complete -c dlock -n '__dlock_in global' -s h -l help -d 'Show the help'
complete -c dlock -n '__dlock_in global' -s V -l version -d 'Show the version'

# Lock names, from the server
complete -c dlock -n '__dlock_in run acquire status list renew release' -a '(__dlock_locks)'

# Options of run and acquire, about taking the lock
complete -c dlock -n '__dlock_in run acquire' -s n -l nonblock -d 'Fail at once if the lock is held'
complete -c dlock -n '__dlock_in run acquire' -l nb -d 'Fail at once if the lock is held'
complete -c dlock -n '__dlock_in run acquire' -s w -l timeout -x -a '0 10s 30s 1m 5m 10m 30m 1h' -d 'Wait at most this long for the lock'
complete -c dlock -n '__dlock_in run acquire' -l wait -x -a '0 10s 30s 1m 5m 10m 30m 1h' -d 'Wait at most this long for the lock'
complete -c dlock -n '__dlock_in run acquire' -s E -l conflict-exit-code -x -d 'Exit status for -n and -w (default 1)'
complete -c dlock -n '__dlock_in run acquire' -s x -l exclusive -d 'Exclusive lock: one holder (the default)'
complete -c dlock -n '__dlock_in run acquire' -s s -l shared -d 'Shared lock: any number of -s holders, none while a -x holder runs'
complete -c dlock -n '__dlock_in run acquire' -l limit -x -a '2 3 4 5 10' -d 'Counting semaphore: up to N holders at once'
complete -c dlock -n '__dlock_in run acquire' -l fifo -d 'Take turns in order of arrival (the default)'
complete -c dlock -n '__dlock_in run acquire' -l no-fifo -d 'Take the lock whenever it is free, ahead of the queue'
complete -c dlock -n '__dlock_in run' -l ttl -x -a '10s 30s 1m 2m 5m' -d 'Lease, renewed every ttl/3 (default 30s)'
complete -c dlock -n '__dlock_in acquire' -l ttl -x -a '10s 30s 1m 2m 5m' -d 'Lease: held this long unless renewed (default 30s)'
complete -c dlock -n '__dlock_in run acquire' -l lock-delay -x -a '0 5s 10s 30s 1m' -d 'Keep an abandoned lock blocked this long past its lease'
complete -c dlock -n '__dlock_in run acquire' -s q -l quiet -d 'No message when the lock is busy or the wait runs out, no status line'
complete -c dlock -n '__dlock_in run acquire' -l verbose -d 'Report the holder, the place in the queue, taking and releasing'
complete -c dlock -n '__dlock_in run' -s h -l help -d 'Show the help of run'
complete -c dlock -n '__dlock_in acquire' -s h -l help -d 'Show the help of acquire'

# Options of run about the command
complete -c dlock -n '__dlock_in run name' -s c -l command -x -d 'Run a string with $SHELL -c'
complete -c dlock -n '__dlock_in run' -l on-lost -x -a 'TERM INT HUP QUIT KILL USR1 USR2' -d 'Signal for the process group when the lease is lost'
complete -c dlock -n '__dlock_in run' -l kill-after -x -a '0 1s 5s 10s 30s 1m' -d 'SIGKILL this long after --on-lost (default 10s)'
complete -c dlock -n '__dlock_in run' -l lost-exit-code -x -d 'Exit status after a lost lease (default 75)'
complete -c dlock -n '__dlock_in run' -l max-hold -x -a '1m 5m 10m 30m 1h 2h' -d 'Stop renewing after this long; the command is stopped'

# After the lock name of run: "--", or the command and its own completion
complete -c dlock -n '__dlock_in name' -a -- -d 'The command follows'
complete -c dlock -n '__dlock_in name wrapped' -a '(__dlock_complete_wrapped)'

# status and list
complete -c dlock -n '__dlock_in status status-after' -l json -d 'Print one JSON object'
complete -c dlock -n '__dlock_in status status-after' -s q -l quiet -d 'Print nothing: only the exit status (0 held, 1 free)'
complete -c dlock -n '__dlock_in status status-after' -s h -l help -d 'Show the help of status'
complete -c dlock -n '__dlock_in list list-after' -l json -d 'Print a JSON array'
complete -c dlock -n '__dlock_in list list-after' -s h -l help -d 'Show the help of list'

# renew and release
complete -c dlock -n '__dlock_in renew renew-after release release-after' -l owner -x -d 'The owner token that dlock acquire printed'
complete -c dlock -n '__dlock_in run acquire renew renew-after' -l wait-replicas -x -a '0 1 2' -d 'Replicas that must confirm a take or renewal (0: off)'
complete -c dlock -n '__dlock_in renew renew-after' -l ttl -x -a '10s 30s 1m 2m 5m' -d 'The new lease (default: the lease it was taken with)'
complete -c dlock -n '__dlock_in renew renew-after' -s h -l help -d 'Show the help of renew'
complete -c dlock -n '__dlock_in release release-after' -l force -d 'Evict whoever holds the lock (logged to syslog)'
complete -c dlock -n '__dlock_in release release-after' -s h -l help -d 'Show the help of release'

# doctor
complete -c dlock -n '__dlock_in doctor' -s h -l help -d 'Show the help of doctor'
