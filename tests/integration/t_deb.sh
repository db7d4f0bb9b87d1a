# The Debian packages of `make deb`: file lists, dependencies, conffiles,
# no signing code in the store package, lintian, and both programs run
# from a scratch root (dpkg -x) against this suite's PostgreSQL. The
# packages are built once (scripts/deb.sh reuses build/deb when the files
# are unchanged), so every test here shares them.

# Sets PKG (the folder holding the .deb files), building them if needed.
packages() {
	command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null ||
		fail "dpkg-dev or lintian missing (scripts/deps.sh deb installs them)"
	PKG=$SB_ROOT/build/deb
	"$SB_ROOT/scripts/deb.sh" "$PKG" >deb.out 2>&1 || {
		cat deb.out
		fail "scripts/deb.sh failed"
	}
	VERSION=$("$SB" --version | cut -d' ' -f2)
	for p in sqlbundle sqlbundle-apply sqlbundle-dbgsym sqlbundle-apply-dbgsym; do
		[ -f "$PKG/${p}_${VERSION}_$(dpkg --print-architecture).deb" ] ||
			fail "no package $p $VERSION in $PKG"
	done
}

deb() {
	echo "$PKG/${1}_${VERSION}_$(dpkg --print-architecture).deb"
}

# Files (not folders) of package $1, one path a line, sorted.
files_of() {
	dpkg-deb -c "$(deb "$1")" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' |
	    LC_ALL=C sort
}

# Package names in field $2 of package $1, sorted.
depends_of() {
	dpkg-deb -f "$(deb "$1")" "$2" | tr ',' '\n' | sed 's/^ *//; s/ .*//' |
	    grep . | LC_ALL=C sort | tr '\n' ' '
}

test_deb_contents() {
	packages
	# Whatever `make install` installs lands in exactly one package.
	make -s -C "$SB_ROOT" install PREFIX=/usr DESTDIR="$T_DIR/inst" \
	    O="$T_DIR/o" B="$T_DIR/b" >make.out 2>&1 || { cat make.out; fail "make install"; }
	(cd inst && find . -type f | sed 's|^\.||' | LC_ALL=C sort) >installed
	extra=$(grep '^/usr/share/sqlbundle/' installed || true)
	assert_eq "$(echo "$extra" | tr '\n' ' ')" \
	    "/usr/share/sqlbundle/alembic_import.py /usr/share/sqlbundle/sqlbundle.schema.json " \
	    "shared files of the HQ package"
	cat >want.hq <<EOF
/usr/bin/sqlbundle
/usr/bin/sqlbundle-mender-artifact
/usr/share/doc/sqlbundle/changelog.gz
/usr/share/doc/sqlbundle/copyright
/usr/share/man/man1/sqlbundle-mender-artifact.1.gz
/usr/share/man/man1/sqlbundle.1.gz
${extra}
EOF
	cat >want.store <<EOF
/etc/sqlbundle/pg_service.conf
/etc/sqlbundle/sqlbundle.conf
/usr/bin/sqlbundle-apply
/usr/share/doc/sqlbundle-apply/changelog.gz
/usr/share/doc/sqlbundle-apply/copyright
/usr/share/man/man1/sqlbundle-apply.1.gz
/usr/share/mender/inventory/mender-inventory-sqlbundle
/usr/share/mender/modules/v3/sqlbundle
EOF
	grep . want.hq | LC_ALL=C sort >want.hq.s
	files_of sqlbundle >got.hq
	diff want.hq.s got.hq || fail "sqlbundle's files differ"
	files_of sqlbundle-apply >got.store
	diff want.store got.store || fail "sqlbundle-apply's files differ"
	sed 's/\.gz$//; /^\/usr\/share\/doc\//d; /^\/etc\//d' got.hq got.store |
	    LC_ALL=C sort >packaged
	diff installed packaged || fail "make install and the packages differ"
	dpkg-deb -c "$(deb sqlbundle-apply)" | grep -q ' \./etc/sqlbundle/trusted\.d/$' ||
	    fail "no trust folder"

	# The store package depends on what the applier links, nothing else,
	# and runs no maintainer script (nothing touches PostgreSQL).
	assert_eq "$(depends_of sqlbundle-apply Depends)" "libarchive13 libc6 libpq5 libssl3 "
	assert_eq "$(depends_of sqlbundle-apply Pre-Depends)" ""
	assert_eq "$(depends_of sqlbundle-apply Recommends)" ""
	assert_eq "$(depends_of sqlbundle Depends)" "libarchive13 libc6 libssl3 "
	assert_eq "$(depends_of sqlbundle Recommends)" \
	    "alembic python3 python3-psycopg2 python3-sqlalchemy sqlbundle-apply zstd "
	dpkg-deb -e "$(deb sqlbundle-apply)" ctl
	assert_eq "$(ls ctl | tr '\n' ' ')" "conffiles control md5sums "
	assert_eq "$(LC_ALL=C sort ctl/conffiles | tr '\n' ' ')" \
	    "/etc/sqlbundle/pg_service.conf /etc/sqlbundle/sqlbundle.conf "
	assert_eq "$(dpkg-deb -f "$(deb sqlbundle-apply)" Version)" "$VERSION"

	grep '^E: ' "$PKG/lintian.txt" && fail "lintian errors"
	true
}

# The symbols of program $1 from package $2: dynamic imports, and the
# full symbol table from the -dbgsym package's debug file.
symbols() {
	local bin=root/usr/bin/$1 id
	nm -D --undefined-only "$bin" | awk '{ print $2 }' | sed 's/@.*//'
	id=$(readelf -n "$bin" | sed -n 's/.*Build ID: *//p')
	[ ${#id} -eq 40 ] || fail "no build id in $bin"
	nm "dbg/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" | awk '{ print $3 }'
}

test_deb_no_signing_code_in_store() {
	packages
	for p in sqlbundle sqlbundle-apply; do
		dpkg -x "$(deb $p)" root
		dpkg -x "$(deb $p-dbgsym)" dbg
	done
	symbols sqlbundle >hq.sym
	symbols sqlbundle-apply >store.sym
	local f used='EVP_DigestSign EVP_DigestSignInit EVP_PKEY_keygen
	    PEM_read_bio_PrivateKey PEM_write_bio_PrivateKey sb_keygen
	    sb_privkey_load sb_privkey_sign'
	# The HQ program has them (so this check can see them)...
	for f in $used; do
		grep -qx "$f" hq.sym || fail "no $f in sqlbundle"
	done
	# ...the applier has none of them, nor any other signing call.
	for f in $used EVP_PKEY_sign EVP_PKEY_sign_init EVP_SignFinal; do
		grep -qx "$f" store.sym && fail "signing code in sqlbundle-apply: $f"
	done
	grep -qx EVP_DigestVerify store.sym || fail "no verification in sqlbundle-apply"
	# Debian's flags, not a sanitized build's (make check SANITIZE=...).
	grep -q '^__asan_init' hq.sym store.sym && fail "sanitized programs packaged"
	true
}

test_deb_programs_run() {
	packages
	dpkg -x "$(deb sqlbundle)" root
	dpkg -x "$(deb sqlbundle-apply)" root
	local r=$T_DIR/root
	expect_rc 0 "$r/usr/bin/sqlbundle" --version
	assert_eq "$(cat out)" "sqlbundle $VERSION"
	expect_rc 0 "$r/usr/bin/sqlbundle-apply" --version
	assert_eq "$(cat out)" "sqlbundle-apply $VERSION"

	# HQ: pack and wrap with the packaged programs.
	copy_example proj
	expect_rc 0 "$r/usr/bin/sqlbundle" -C proj keygen hq
	expect_rc 0 "$r/usr/bin/sqlbundle" -C proj pack --key keys/hq.key -o "$T_DIR/b.tar.zst"
	command -v mender-artifact >/dev/null ||
		fail "mender-artifact missing (scripts/deps.sh mender installs it)"
	PATH=$r/usr/bin:$PATH expect_rc 0 "$r/usr/bin/sqlbundle-mender-artifact" \
	    -t store-terminal "$T_DIR/b.tar.zst"
	assert_out "provides  sqlbundle.arcoirispos.version=2864583ca021"

	# Store: the packaged applier and inventory script, through the
	# packaged service file's format.
	new_db
	expect_rc 0 "$r/usr/bin/sqlbundle-apply" upgrade --trust proj/keys/hq.pub "$T_DIR/b.tar.zst"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	sed -e "s|^dbname=.*|dbname=$PGDATABASE|" -e "s|^#host=.*|host=$PGHOST|" \
	    -e "s|^#port=.*|port=$PGPORT|" -e "s|^#user=.*|user=$PGUSER|" \
	    "$r/etc/sqlbundle/pg_service.conf" >svc.conf
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER PGSERVICEFILE="$T_DIR/svc.conf" \
	    PATH="$r/usr/bin:$PATH" "$r/usr/share/mender/inventory/mender-inventory-sqlbundle" >inv
	grep -qx 'sqlbundle_revision=2864583ca021' inv || fail "inventory: $(cat inv)"
	sh -n "$r/usr/share/mender/modules/v3/sqlbundle" || fail "module does not parse"
	# The programs use the system's libraries.
	ldd "$r/usr/bin/sqlbundle-apply" | grep -q 'libpq.so.5 => /' || fail "libpq not found"
}
