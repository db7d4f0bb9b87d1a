#!/usr/bin/env bash
# Stands in for bin/sqlbundle and bin/sqlbundle-apply during the
# integration tests (run.sh links both names to it). Without --json it
# becomes the real program (exec: same pid, same descriptors). With
# --json it runs the program with its standard output through tee, so
# that every line is also kept in $SB_JSON_DIR for the schema check
# (json_schema.py); the exit status is the program's.
prog=$(basename "$0")
real=$SB_BIN/$prog
json=false
for a in "$@"; do
	[ "$a" = "--" ] && break
	[ "$a" = "--json" ] && json=true
done
if ! $json || [ -z "${SB_JSON_DIR:-}" ]; then
	exec "$real" "$@"
fi
log=$(mktemp "$SB_JSON_DIR/run.XXXXXXXX") || exit 99
printf '%s\t%s\t%s\n' "$prog" "${T_NAME:-?}" "$*" > "$log.cmd"
"$real" "$@" | tee "$log"
exit "${PIPESTATUS[0]}"
