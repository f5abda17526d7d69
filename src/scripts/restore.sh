# shellcheck shell=sh
# Puts `$1.extnfs-prev` back as `$1`, or removes `$1` when there was none.
if [ -f "$1.extnfs-prev" ]; then mv -f "$1.extnfs-prev" "$1"; else rm -f "$1"; fi
