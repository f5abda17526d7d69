# shellcheck shell=sh
# Prints the names (arguments) the server cannot resolve: getent where it exists (Linux),
# else host(1) (AIX); without either nothing is reported.
for n in "$@"; do
    if command -v getent >/dev/null 2>&1; then
        getent hosts "$n" >/dev/null 2>&1 && continue
    elif command -v host >/dev/null 2>&1; then
        host "$n" >/dev/null 2>&1 && continue
    else
        continue
    fi
    printf '%s\n' "$n"
done
