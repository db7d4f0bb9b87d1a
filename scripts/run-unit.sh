#!/bin/sh
# Run each cmocka unit-test program; print one closing line for all.
set -u
pass=0 fail=0
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t"; fi
done
echo "unit programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
