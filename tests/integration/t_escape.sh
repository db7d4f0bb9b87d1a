# Text that reaches a terminal from a bundle or a database cannot drive
# it: escape sequences, carriage returns and other controls in notices,
# error messages and alembic_version values are shown as \xNN.

ESC=$(printf '\033')
CR=$(printf '\r')

escape_project() {
	mkdir -p proj/revisions proj/keys proj/bundles
	echo "project = esc" > proj/sqlbundle.conf
	cat > proj/revisions/a_notice.sql <<'EOF'
-- revision: a
-- message: a notice with an escape sequence

-- +upgrade
DO $$ BEGIN RAISE NOTICE '%', E'red \x1b[31mtext\r over'; END $$;
EOF
	cat > proj/revisions/b_fails.sql <<'EOF'
-- revision: b
-- down_revision: a
-- message: fails with an escape sequence

-- +upgrade
DO $$ BEGIN RAISE EXCEPTION '%', E'clear \x1b[2J screen'; END $$;
EOF
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/esc.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# No raw ESC or CR in the last command's output.
assert_no_controls() {
	if grep -q "[$ESC$CR]" "$T_DIR/out" "$T_DIR/err"; then
		cat -A "$T_DIR/out" "$T_DIR/err"
		fail "a control character reached the terminal"
	fi
}

test_notice_and_error_escaped() {
	escape_project
	new_db
	expect_rc 0 "$SBA" upgrade esc.tar.zst a
	assert_no_controls
	grep -qxF 'NOTICE:  red \x1b[31mtext\x0d over' "$T_DIR/err" || fail "notice: $(cat -A "$T_DIR/err")"
	expect_rc 3 "$SBA" upgrade esc.tar.zst
	assert_no_controls
	grep -qF 'clear \x1b[2J screen' "$T_DIR/err" || fail "error: $(cat -A "$T_DIR/err")"
	# The status shows the failure's message escaped too.
	expect_rc 0 "$SBA" status
	assert_no_controls
	grep -qF 'clear \x1b[2J screen' "$T_DIR/out" || fail "status: $(cat -A "$T_DIR/out")"
	# JSON keeps the text, escaped the JSON way.
	expect_rc 0 "$SBA" status --json
	grep -qF 'clear \u001b[2J screen' "$T_DIR/out" || fail "json: $(cat "$T_DIR/out")"
}

test_version_values_escaped() {
	escape_project
	new_db
	expect_rc 0 "$SBA" upgrade esc.tar.zst a
	q "UPDATE alembic_version SET version_num = E'a\x1b]0;owned\x07'"
	expect_rc 0 "$SBA" status
	assert_no_controls
	grep -qxF 'version table public.alembic_version: "a\x1b]0;owned\x07"' "$T_DIR/out" || fail "status: $(cat -A "$T_DIR/out")"
	expect_rc 6 "$SBA" plan esc.tar.zst
	assert_no_controls
	grep -qF 'a\x1b]0;owned\x07' "$T_DIR/err" || fail "plan: $(cat -A "$T_DIR/err")"
}
