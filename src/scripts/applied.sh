# shellcheck shell=sh
# What the NFS server has applied, for `extnfs doctor`, in frames marked `$2` (see `frames`):
#   linux MARK        `etab` (/var/lib/nfs/etab), else `exportfs` (exportfs -v).
#   aix MARK          `exportfs` (exportfs with no argument prints /etc/xtab).
#   ganesha MARK FILE `conf PATH` per file: FILE and every file it %includes, depth first.
#   ces MARK          `mmnfs` (mmnfs export list -Y).
kind=$1 mark=$2
frame() {
    printf '%s %s\n' "$mark" "$1"
    shift
    "$@" || exit 1
    printf '\n%s end\n' "$mark"
}
conf() {
    [ "$2" -gt 8 ] && { echo "ganesha: %include nested deeper than 8 at $1" >&2; exit 1; }
    frame "conf $1" cat "$1"
    sed -n 's/^[[:space:]]*%include[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$1" |
        while IFS= read -r inc; do
            case $inc in
            /*) ;;
            *) inc=${1%/*}/$inc ;;
            esac
            conf "$inc" $(($2 + 1)) || exit 1
        done
}
case $kind in
linux)
    if [ -r /var/lib/nfs/etab ]; then
        frame etab cat /var/lib/nfs/etab
    else
        frame exportfs exportfs -v
    fi
    ;;
aix) frame exportfs exportfs ;;
ganesha) conf "$3" 0 ;;
ces) frame mmnfs mmnfs export list -Y ;;
*)
    echo "unknown kind $kind" >&2
    exit 2
    ;;
esac
