# shellcheck shell=sh
# For each path on stdin (one a line): `SIZE PATH` for a file, `dir PATH` for a directory
# with something in it, `empty PATH` for an empty one, `missing PATH` otherwise.
while IFS= read -r p; do
    if [ -f "$p" ]; then
        # shellcheck disable=SC2012,SC2046 # ls -ln is the portable way to a size (AIX has no stat); its words are wanted.
        set -- $(ls -ln "$p")
        printf '%s %s\n' "$5" "$p"
    elif [ -d "$p" ] && [ -n "$(ls -A "$p" 2>/dev/null)" ]; then
        printf 'dir %s\n' "$p"
    elif [ -d "$p" ]; then
        printf 'empty %s\n' "$p"
    else
        printf 'missing %s\n' "$p"
    fi
done
