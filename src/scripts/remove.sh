# shellcheck shell=sh
# Server-side: stdin lines `dir PATH` (a node's directory) or `files DIR SUFFIX` (the files
# `DIR/*.SUFFIX`); paths come from the plan, never from a shell word split.
while read -r kind a b; do
    case $kind in
    dir)
        if [ -e "$a" ]; then
            if rm -rf -- "$a"; then echo "removed $a"; else echo "error $a"; fi
        fi ;;
    files)
        for f in "$a"/*."$b"; do
            [ -e "$f" ] || continue
            if rm -f -- "$f"; then echo "removed $f"; else echo "error $f"; fi
        done ;;
    esac
done
