# shellcheck shell=sh
# Sync stamps in the directory `$2`:
#   write DIR  stdin lines `NAME JSON`: each JSON (one line) written to DIR/NAME.json atomically.
#   read DIR   prints every DIR/*.json, one line each.
mode=$1 dir=$2
case $mode in
write)
    mkdir -p "$dir" || exit 1
    while IFS=' ' read -r name json; do
        case $name in
        '' | */* | .*) echo "bad stamp name $name" >&2; exit 1 ;;
        esac
        printf '%s\n' "$json" > "$dir/.$name.$$" && mv -f "$dir/.$name.$$" "$dir/$name.json" || exit 1
    done
    ;;
read)
    [ -d "$dir" ] || exit 0
    for f in "$dir"/*.json; do
        if [ -f "$f" ]; then head -n 1 "$f"; fi
    done
    ;;
*)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
