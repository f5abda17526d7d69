# shellcheck shell=sh
# Prints every part in `$1` and the file `$2` between lines starting with the marker `$3`.
parts=$1 file=$2 mark=$3
if [ -d "$parts" ]; then
    for f in "$parts"/*.json; do
        [ -f "$f" ] || continue
        printf '%s part %s\n' "$mark" "${f##*/}"
        cat "$f" || exit 1
        printf '\n%s end\n' "$mark"
    done
fi
if [ -f "$file" ]; then
    printf '%s file %s\n' "$mark" "$(cksum < "$file")"
    cat "$file" || exit 1
    printf '\n%s end\n' "$mark"
fi
