# plan marks irreversible steps, in text and in JSON, and says which
# downgrades they make impossible.

one_way_bundle() {
	mkdir -p proj/revisions proj/keys proj/bundles
	echo "project = oneway" > proj/sqlbundle.conf
	printf -- '-- revision: a1\n-- message: t\n\n-- +upgrade\nCREATE TABLE t (x int);\n\n-- +downgrade\nDROP TABLE t;\n' \
	    > proj/revisions/a1_t.sql
	printf -- '-- revision: b2\n-- down_revision: a1\n-- message: no way back\n\n-- +upgrade\nDROP TABLE t;\n' \
	    > proj/revisions/b2_drop.sql
	printf -- '-- revision: c3\n-- down_revision: b2\n-- message: u\n\n-- +upgrade\nCREATE TABLE u (y int);\n\n-- +downgrade\nDROP TABLE u;\n' \
	    > proj/revisions/c3_u.sql
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/b.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

test_plan_marks_irreversible() {
	one_way_bundle
	new_db
	expect_rc 0 "$SBA" plan b.tar.zst
	grep -qx '  1\. upgrade a1  t' "$T_DIR/out" || fail "step 1: $(cat "$T_DIR/out")"
	grep -qx '  2\. upgrade b2  no way back  \[irreversible\]' "$T_DIR/out" || fail "step 2 not marked: $(cat "$T_DIR/out")"
	grep -qx '  3\. upgrade c3  u' "$T_DIR/out" || fail "step 3: $(cat "$T_DIR/out")"
	assert_out 'note: revision b2 is irreversible (no -- +downgrade): once applied, no downgrade can go below it'
	expect_rc 0 "$SBA" plan b.tar.zst --json
	/usr/bin/python3 - "$T_DIR/out" <<'EOF'
import json, sys
plan = json.loads(open(sys.argv[1]).read())
assert [(s["revision"], s["reversible"]) for s in plan["steps"]] == \
    [("a1", True), ("b2", False), ("c3", True)], plan["steps"]
EOF
	# Past the irreversible step: no note.
	expect_rc 0 "$SBA" upgrade b.tar.zst
	expect_rc 0 "$SBA" plan b.tar.zst -1
	grep -q '^note:' "$T_DIR/out" && fail "a note for a downgrade: $(cat "$T_DIR/out")"
	expect_err 6 'revision "b2" (b2_drop.sql) is irreversible' "$SBA" plan b.tar.zst -2
}
