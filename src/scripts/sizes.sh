# shellcheck shell=sh
# For each path on stdin (one a line): `SIZE PATH` for a file, `dir PATH` for a directory,
# `missing PATH` otherwise.
while IFS= read -r p; do
    if [ -f "$p" ]; then
        # shellcheck disable=SC2012,SC2046 # ls -ln is the portable way to a size (AIX has no stat); its words are wanted.
        set -- $(ls -ln "$p")
        printf '%s %s\n' "$5" "$p"
    elif [ -d "$p" ]; then
        printf 'dir %s\n' "$p"
    else
        printf 'missing %s\n' "$p"
    fi
done
