# Where the applier connects when nothing says so (the store package's
# service file), what a failed connection hints, and where a trusted key
# goes when a bundle's key is not trusted.

# conf/pg_service.conf naming service sqlbundle: database $1 on the
# test server. Exported as the package's folder.
service_file() {
	mkdir -p conf
	printf '[sqlbundle]\nhost=%s\nport=%s\nuser=%s\ndbname=%s\n' \
	    "$PGHOST" "$PGPORT" "$PGUSER" "$1" > conf/pg_service.conf
	export SQLBUNDLE_CONFDIR=$PWD/conf
}

# The applier with no connection setting at all.
bare() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGSERVICE -u PGSERVICEFILE "$@"
}

test_service_file_is_the_default() {
	new_db svc_default
	service_file svc_default
	expect_rc 0 bare "$SBA" status
	assert_out "no sqlbundle history; version table public.alembic_version: does not exist"
	bare "$SBA" status --json | grep -q '"database":"svc_default"' || fail "not the service's database"
	# service=sqlbundle finds it without PGSERVICEFILE.
	expect_rc 0 bare "$SBA" -d service=sqlbundle status --json
	assert_out '"database":"svc_default"'
	# -d and PG* variables come first.
	new_db svc_other
	expect_rc 0 "$SBA" status --json
	assert_out '"database":"svc_other"'
}

test_connection_error_hints() {
	service_file no_such_db_svc
	expect_rc 3 bare "$SBA" status
	grep -qx "HINT: no -d or PG\* variable was given: the connection is service \"sqlbundle\" of $PWD/conf/pg_service.conf; fix it there, or give -d CONNINFO" "$T_DIR/err" ||
	    fail "no service hint: $(cat "$T_DIR/err")"
	export SQLBUNDLE_CONFDIR=$PWD/none
	expect_rc 3 "$SBA" -d dbname=no_such_db_svc status
	grep -qx "HINT: give -d CONNINFO or PG\* variables, or name the store database as service \"sqlbundle\" in $PWD/none/pg_service.conf (used when neither is given)" "$T_DIR/err" ||
	    fail "no hint: $(cat "$T_DIR/err")"
}

test_untrusted_key_names_the_trust_folder() {
	copy_example proj
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj keygen other > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/b.tar.zst" > /dev/null
	mkdir trusted.d
	cp proj/keys/other.pub trusted.d/
	expect_rc 1 "$SBA" --trust "$PWD/trusted.d" verify b.tar.zst
	grep -qx "HINT: to trust it, put the signer's public key (the NAME.pub of \"sqlbundle keygen\" at HQ) in $PWD/trusted.d; without a root there, every \*.pub is trusted" "$T_DIR/err" ||
	    fail "no trust hint: $(cat "$T_DIR/err")"
	SQLBUNDLE_TRUST=$PWD/proj/keys/other.pub expect_rc 1 "$SBA" verify b.tar.zst
	grep -qx "HINT: the trusted key is $PWD/proj/keys/other.pub alone; give the signer's public key (NAME.pub) with --trust, or a folder of them" "$T_DIR/err" ||
	    fail "no trust hint: $(cat "$T_DIR/err")"
}
