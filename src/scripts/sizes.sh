# shellcheck shell=sh
# For each path on stdin (one a line): `SIZE PATH` for a file, `dir PATH` for a directory
# with something in it, `empty PATH` for an empty one, `missing PATH` otherwise; files last.
# Files are sized by one `ls -lnd` per batch of paths (xargs), not one per file, so ten
# thousand paging files cost a few processes. ls -ln is the portable way to a size (AIX has
# no stat); its name is what follows the eighth field.
files=${TMPDIR:-/tmp}/extnfs-sizes.$$
umask 077
(set -C && : >"$files") || exit 1
trap 'rm -f "$files"' EXIT
# Whether directory $1 holds anything, by the shell's own globbing (no process per directory).
full() {
    for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        if [ -e "$f" ] || [ -L "$f" ]; then
            return 0
        fi
    done
    return 1
}
while IFS= read -r p; do
    if [ -f "$p" ]; then
        printf '%s\n' "$p" >>"$files"
    elif [ -d "$p" ] && full "$p"; then
        printf 'dir %s\n' "$p"
    elif [ -d "$p" ]; then
        printf 'empty %s\n' "$p"
    else
        printf 'missing %s\n' "$p"
    fi
done
if [ -s "$files" ]; then
    # xargs reads a backslash as escaping the next character: every other one is escaped.
    sed 's/[^[:alnum:]/._-]/\\&/g' "$files" | xargs ls -lnd |
        awk '{ size = $5; for (i = 1; i <= 8; i++) sub(/^[^ ]+ +/, ""); print size " " $0 }'
fi
