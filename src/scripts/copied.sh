# shellcheck shell=sh
# The record a verified copy leaves on the server; run as `sh -c <this> extnfs MODE RECORD DIR`.
#   state RECORD DIR   prints RECORD, then `live ` and the fingerprint of the tree DIR as it
#                      is now; nothing at all when there is no RECORD.
#   begin RECORD DIR   removes RECORD, if not empty (a copy is starting), and creates DIR
#                      when missing; prints `empty` when DIR holds nothing, and then
#                      `gnu-tar` when the server's tar is GNU tar (it can receive a stream).
#   record RECORD DIR  writes stdin, then `server ` and DIR's fingerprint, to RECORD
#                      atomically, and prints `recorded`; prints `none WHY` instead and
#                      writes nothing when no fingerprint can be made.
# A fingerprint is `sha256 HEX` of every entry's type, inode, links, size, mode, owner,
# modification and change times and name, sorted; `none WHY` without GNU find's -printf or
# sha256sum (detected, not assumed: such a server's copies are simply never skipped).
mode=$1 record=$2 dir=$3
list=
trap '[ -z "$list" ] || rm -f "$list"' EXIT

fingerprint() {
    if ! command -v sha256sum >/dev/null 2>&1; then
        echo 'none no sha256sum on the server'
        return
    fi
    list=$(mktemp) || { echo 'none no temporary file'; return; }
    if why=$( (cd "$1" && find . -printf '%y %i %n %s %m %U %G %T@ %C@ %P\0') 2>&1 >"$list") \
        && why=$(LC_ALL=C sort -z -o "$list" "$list" 2>&1) && [ -s "$list" ]; then
        echo "sha256 $(sha256sum <"$list" | cut -d ' ' -f 1)"
    else
        echo "none cannot list $1: $(printf '%s' "$why" | head -n 1)"
    fi
}

case $mode in
state)
    [ -f "$record" ] || exit 0
    cat "$record" || exit 1
    echo "live $(fingerprint "$dir")"
    ;;
begin)
    if [ -n "$record" ]; then rm -f "$record" || exit 1; fi
    mkdir -p "$dir" || exit 1
    if [ -z "$(ls -A "$dir")" ]; then
        echo empty
        case $(tar --version 2>/dev/null | head -n 1) in
        *'GNU tar'*) echo gnu-tar ;;
        esac
    fi
    ;;
record)
    fp=$(fingerprint "$dir")
    case $fp in
    sha256\ *) ;;
    *)
        echo "$fp"
        exit 0
        ;;
    esac
    mkdir -p "${record%/*}" || exit 1
    tmp="${record%/*}/.${record##*/}.$$"
    if ! { cat && echo "server $fp"; } >"$tmp" || ! mv -f "$tmp" "$record"; then
        rm -f "$tmp"
        exit 1
    fi
    echo recorded
    ;;
*)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
