# shellcheck shell=sh
# Moves `$1` aside to `$1.extnfs-prev` (so that a restore brings it back).
rm -f "$1.extnfs-prev"
if [ -f "$1" ]; then mv -f "$1" "$1.extnfs-prev"; fi
