# shellcheck shell=sh
# Prints `missing PATH` for each path on stdin (one a line) that is not there; a dangling
# symbolic link is there. One `test` builtin per path and no process or directory listing:
# `extnfs status` asks only whether its nodes' paths exist, for thousands of paths at once.
while IFS= read -r p; do
    if [ ! -e "$p" ] && [ ! -L "$p" ]; then
        printf 'missing %s\n' "$p"
    fi
done
