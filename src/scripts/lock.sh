# shellcheck shell=sh
# Takes the lock directory `$1`, waiting up to `$2` seconds, with owner text `$3`; prints
# `locked`, then holds the lock until its standard input closes (our end of the pipe, or the
# ssh connection, going away) and removes it. While it waits it prints one line,
# `waiting <owner>`, so that the caller can say whom it waits for.
#
# `mkdir` is the lock because it is atomic on every file system and every server we meet:
# flock(1) is missing on AIX, and when SNs reach the server through a mount of its file
# system (GPFS, NFS) flock is not reliable across hosts, so probing for it would give two
# SNs two different locks. A holder killed without cleaning up is recognised by its pid,
# but only on the host it ran on; elsewhere the wait is bounded and names the owner. A holder
# writes its pid right after `mkdir`, so a lock still without one after `$4` seconds (10 by
# default) was left by a holder killed in between, on any host, and is taken over.
lock=$1 wait=$2 owner=$3 orphan=${4:-10}
mkdir -p "${lock%/*}" || exit 1
host=$(uname -n)

# The inode of the lock directory now, empty when there is none: one holder's lock from the
# next one's.
inode() {
    # shellcheck disable=SC2012 # one path of ours, and ls -di is the portable way to an inode
    ls -di "$lock" 2>/dev/null | awk '{ print $1 }'
}

# Whether the lock directory now there, inode `$1`, was abandoned: its holder's pid is dead
# on this host, or it has had no pid for `$2` checks.
abandoned() {
    [ "$(inode)" = "$1" ] || return 1
    pid=$(cat "$lock/pid" 2>/dev/null)
    if [ -z "$pid" ]; then
        [ "$2" -gt "$orphan" ]
        return
    fi
    [ "$(cat "$lock/host" 2>/dev/null)" = "$host" ] && ! kill -0 "$pid" 2>/dev/null
}

# Removes the abandoned lock `$1` (inode) under a second lock, judging it again there: two
# waiters that both found it abandoned must not both remove it, the second one the first's
# new lock. Fails when it removed nothing (another waiter is at it, or it was not abandoned).
take_over() {
    mkdir "$lock.break" 2>/dev/null || return 1
    removed=1
    if abandoned "$1" "$2" && mv "$lock" "$lock.stale.$$" 2>/dev/null; then
        rm -rf "$lock.stale.$$"
        removed=0
    fi
    rmdir "$lock.break"
    return "$removed"
}

waited=0 seen='' pidless=0 told=''
while ! mkdir "$lock" 2>/dev/null; do
    now=$(inode)
    if [ "$now" != "$seen" ]; then
        seen=$now pidless=0
    fi
    [ -s "$lock/pid" ] || pidless=$((pidless + 1))
    if [ -n "$now" ] && abandoned "$now" "$pidless" && take_over "$now" "$pidless"; then
        continue
    fi
    if [ "$waited" -ge "$wait" ]; then
        cat "$lock/owner" >&2 2>/dev/null
        exit 75
    fi
    if [ -z "$told" ] && [ -s "$lock/pid" ]; then
        printf 'waiting %s\n' "$(cat "$lock/owner" 2>/dev/null)"
        told=yes
    fi
    sleep 1
    waited=$((waited + 1))
done
trap 'rm -rf "$lock"' EXIT
trap 'exit 1' HUP INT TERM PIPE
printf '%s\n' "$host" > "$lock/host"
printf '%s on %s since %s\n' "$owner" "$host" "$(date '+%Y-%m-%d %H:%M:%S')" > "$lock/owner"
echo $$ > "$lock/pid"
echo locked
cat > /dev/null
