# A store database that Alembic managed carries on under sqlbundle-apply,
# and the other way round: both keep public.alembic_version the same way.

alembic_ready() {
	[ -d "$SB_ROOT/tests/fixtures/alembic" ] ||
		fail "tests/fixtures/alembic is missing"
	command -v alembic > /dev/null ||
		fail "alembic is not installed (scripts/deps.sh installs it)"
	copy_example proj
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/example.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
	# The fixture reads the SQL from the project copy.
	export SB_ALEMBIC_PROJECT=$PWD/proj
	cp -r "$SB_ROOT/tests/fixtures/alembic" alembic
}

run_alembic() {
	(cd alembic && alembic -c alembic.ini "$@")
}

test_alembic_then_apply() {
	alembic_ready
	new_db
	run_alembic upgrade 853113448960 > alembic.log 2>&1 || { cat alembic.log; fail "alembic upgrade"; }
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" 853113448960
	expect_rc 0 "$SBA" plan example.tar.zst
	assert_out "upgrade to 2864583ca021: 1 step"
	expect_rc 0 "$SBA" upgrade example.tar.zst
	assert_out "database at 2864583ca021 after 1 upgrade"
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" 2864583ca021
	assert_eq "$(q "SELECT string_agg(revision, ',') FROM sqlbundle.history")" 2864583ca021
	assert_eq "$(q "SELECT count(*) FROM core.organization WHERE code = 'ARCOIRIS'")" 1
	run_alembic current > current.out 2>&1 || { cat current.out; fail "alembic current"; }
	grep -q '^2864583ca021 (head)' current.out || fail "alembic current: $(cat current.out)"
}

test_apply_then_alembic() {
	alembic_ready
	new_db
	expect_rc 0 "$SBA" upgrade example.tar.zst 37a02ec8662a
	run_alembic current > current.out 2>&1 || { cat current.out; fail "alembic current"; }
	grep -q '^37a02ec8662a' current.out || fail "alembic current: $(cat current.out)"
	run_alembic upgrade head > alembic.log 2>&1 || { cat alembic.log; fail "alembic upgrade"; }
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" 2864583ca021
	# Back under sqlbundle-apply: its position follows Alembic's work.
	expect_rc 0 "$SBA" downgrade example.tar.zst 37a02ec8662a
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" 37a02ec8662a
	run_alembic current > current.out 2>&1
	grep -q '^37a02ec8662a' current.out || fail "alembic current: $(cat current.out)"
}
