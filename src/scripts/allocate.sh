# shellcheck shell=sh
# Server-side: the paging files of several resources in one run. stdin: per resource a line
# `resource TAG` (TAG a word), then its files' lines `size mode uid gid path`, sorted so that
# the files of one size, mode and owner follow each other. A missing file is created as a hole
# of its size straight under its name (a sparse file is complete the moment it exists); an
# existing one is only compared.
# stdout: per resource `resource TAG`, a line per file (`created PATH`, `differs PATH (...)`,
# `error PATH`), then `end TAG` once the resource is done: a resource without its `end` line
# was not finished.
# Processes: one `mkdir -p` in all, then per resource and group of size, mode and owner one
# `find` for the existing files, one creation, one `find` to check it, one `chmod` and one
# `chown`.
LC_ALL=C
export LC_ALL
nl='
'
ifs=$IFS

# Prints those of the files $2... that are regular files of exactly $1 bytes.
of_size() {
    want=$1
    shift
    find "$@" -prune -type f -size "${want}c" 2>/dev/null
}

# Creates the files $2... as holes of $1 bytes: `truncate` where there is one (GNU), else perl
# (AIX ships it; AIX has no truncate), else `dd` per file.
create() {
    len=$1
    shift
    if command -v truncate >/dev/null 2>&1; then
        truncate -s "$len" "$@" 2>/dev/null
    elif command -v perl >/dev/null 2>&1; then
        perl -e '$s = shift; for (@ARGV) { open(my $f, ">>", $_) or next; truncate($f, $s) }' "$len" "$@"
    else
        for f do
            dd if=/dev/null of="$f" bs=1 count=0 seek="$len" 2>/dev/null
        done
    fi
}

# Whether line $1 is one of the lines of $2.
listed() {
    case "$nl$2$nl" in
        *"$nl$1$nl"*) return 0 ;;
    esac
    return 1
}

# One group: size $1, mode $2, owner $3, the files in $group (the caller's variables are not
# touched: POSIX sh has no local variables).
group() {
    g_size=$1 g_mode=$2 g_owner=$3
    existing=''
    missing=''
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        if [ -e "$f" ]; then
            existing="$existing$f$nl"
        else
            missing="$missing$f$nl"
        fi
    done <<END
$group
END
    if [ -n "$existing" ]; then
        IFS=$nl
        set -f
        # shellcheck disable=SC2086
        same=$(of_size "$g_size" $existing)
        set +f
        IFS=$ifs
        while IFS= read -r f; do
            [ -n "$f" ] || continue
            listed "$f" "$same" && continue
            # ls -ln: the size as AIX and Linux both print it (AIX has no stat(1)); rare.
            # shellcheck disable=SC2012
            have=$(ls -lnd "$f" | awk '{print $5}')
            echo "differs $f ($have bytes, SN has $g_size)"
        done <<END
$existing
END
    fi
    [ -n "$missing" ] || return 0
    IFS=$nl
    set -f
    # shellcheck disable=SC2086
    create "$g_size" $missing
    # shellcheck disable=SC2086
    made=$(of_size "$g_size" $missing)
    set +f
    IFS=$ifs
    if [ -n "$made" ]; then
        IFS=$nl
        set -f
        # shellcheck disable=SC2086
        set -- $made
        set +f
        IFS=$ifs
        if chmod "$g_mode" "$@" && chown "$g_owner" "$@"; then
            for f do echo "created $f"; done
        else
            # A paging file of another mode or owner would stay so: none rather than wrong.
            rm -f "$@"
            made=
        fi
    fi
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        listed "$f" "$made" && continue
        rm -f "$f"
        echo "error $f"
    done <<END
$missing
END
}

all=
dirs=
while read -r size mode uid gid path; do
    if [ "$size" = resource ]; then
        all="${all}resource $mode$nl"
        continue
    fi
    [ -n "$path" ] || continue
    all="$all$size $mode $uid:$gid $path$nl"
    [ -e "$path" ] || dirs="$dirs${path%/*}$nl"
done
if [ -n "$dirs" ]; then
    IFS=$nl
    set -f
    # shellcheck disable=SC2086
    mkdir -p $dirs 2>/dev/null
    set +f
    IFS=$ifs
fi

# Handles the group gathered so far, and ends resource $tag when $1 is `end`.
flush() {
    # shellcheck disable=SC2086
    [ -z "$key" ] || group $key
    key=
    group=
    if [ "$1" = end ] && [ -n "$tag" ]; then
        echo "end $tag"
    fi
}

key=
group=
tag=
while read -r size mode owner path; do
    if [ "$size" = resource ]; then
        flush end
        tag=$mode
        echo "resource $tag"
        continue
    fi
    [ -n "$path" ] || continue
    if [ "$size $mode $owner" != "$key" ]; then
        flush
        key="$size $mode $owner"
    fi
    group="$group$path$nl"
done <<END
$all
END
flush end
