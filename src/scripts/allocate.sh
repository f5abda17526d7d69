# shellcheck shell=sh
# Server-side: stdin lines `size mode uid gid path`; a missing file is created as a hole of
# that size under a temporary name and renamed into place; an existing one is only compared.
# `dd ... seek=` makes a sparse file on Linux and AIX alike (AIX has no truncate).
while read -r size mode uid gid path; do
    if [ -e "$path" ]; then
        # ls -ln: the size as AIX and Linux both print it (AIX has no stat(1)); the path is ours.
        # shellcheck disable=SC2012
        have=$(ls -ln "$path" | awk '{print $5}')
        [ "$have" = "$size" ] || echo "differs $path ($have bytes, SN has $size)"
        continue
    fi
    dir=${path%/*}
    tmp="$dir/.xcat-extnfs.$$"
    if mkdir -p "$dir" && dd if=/dev/null of="$tmp" bs=1 count=0 seek="$size" 2>/dev/null &&
        chmod "$mode" "$tmp" && chown "$uid:$gid" "$tmp" && mv -f "$tmp" "$path"; then
        echo "created $path"
    else
        rm -f "$tmp"
        echo "error $path"
    fi
done
