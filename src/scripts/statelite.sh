# shellcheck shell=sh
# Server-side statelite directories; run as `sh -c <this> extnfs MODE ARG...`.
#   mkdir DIR...  creates each missing DIR (root-owned, 0755) and prints `created DIR`; an
#                 existing DIR and everything below it are left alone (`exists DIR`).
#   exist PATH... prints each PATH that is a file, or a directory with something in it.
#   isdir PATH... prints each PATH that is a directory.
mode=$1
shift
case $mode in
mkdir)
    umask 022
    for d in "$@"; do
        if [ -d "$d" ]; then
            echo "exists $d"
        elif mkdir -p "$d" && chown 0:0 "$d" && chmod 0755 "$d"; then
            echo "created $d"
        else
            echo "cannot create $d" >&2
            exit 1
        fi
    done
    ;;
exist)
    for p in "$@"; do
        if [ -f "$p" ] || { [ -d "$p" ] && [ -n "$(ls -A "$p" 2>/dev/null)" ]; }; then
            echo "$p"
        fi
    done
    ;;
isdir)
    for p in "$@"; do
        if [ -d "$p" ]; then
            echo "$p"
        fi
    done
    ;;
*)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
