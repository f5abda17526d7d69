# shellcheck shell=sh
# Installs standard input as `$1` if its checksum is still `$2` (`absent`: no file; `any`:
# no check): a temporary file in the same directory (with the old file's mode), the old
# file kept as `$1.extnfs-prev`, flushed to disk, then a rename: a crash leaves the old file
# or the new one, never a mix.
target=$1 want=$2
mkdir -p "${target%/*}" || exit 1
if [ -f "$target" ]; then have=$(cksum < "$target"); else have=absent; fi
if [ "$want" != any ] && [ "$have" != "$want" ]; then
    echo "$target changed since it was read" >&2
    exit 3
fi
umask 022
tmp="$target.extnfs-new.$$"
trap 'rm -f "$tmp"' EXIT
if [ -f "$target" ]; then cp -p "$target" "$tmp" || exit 1; fi
cat > "$tmp" || exit 1
# `sync FILE` is GNU; elsewhere (AIX) a plain sync flushes everything.
sync "$tmp" 2>/dev/null || sync
if [ -f "$target" ]; then
    cp -p "$target" "$target.extnfs-prev" || exit 1
else
    rm -f "$target.extnfs-prev"
fi
mv -f "$tmp" "$target"
