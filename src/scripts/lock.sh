# shellcheck shell=sh
# Takes the lock directory `$1`, waiting up to `$2` seconds, with owner text `$3`; prints
# `locked`, then holds the lock until its standard input closes (our end of the pipe, or the
# ssh connection, going away) and removes it.
#
# `mkdir` is the lock because it is atomic on every file system and every server we meet:
# flock(1) is missing on AIX, and when SNs reach the server through a mount of its file
# system (GPFS, NFS) flock is not reliable across hosts, so probing for it would give two
# SNs two different locks. A holder killed without cleaning up is recognised by its pid,
# but only on the host it ran on; elsewhere the wait is bounded and names the owner.
lock=$1 wait=$2 owner=$3
mkdir -p "${lock%/*}" || exit 1
host=$(uname -n)
waited=0
while ! mkdir "$lock" 2>/dev/null; do
    pid=$(cat "$lock/pid" 2>/dev/null)
    where=$(cat "$lock/host" 2>/dev/null)
    if [ -n "$pid" ] && [ "$where" = "$host" ] && ! kill -0 "$pid" 2>/dev/null; then
        mv "$lock" "$lock.stale.$$" 2>/dev/null && rm -rf "$lock.stale.$$"
        continue
    fi
    if [ "$waited" -ge "$wait" ]; then
        cat "$lock/owner" >&2 2>/dev/null
        exit 75
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
