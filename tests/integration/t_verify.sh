# sqlbundle verify: a good bundle passes; hostile bundles, built here from a
# good one with Python's tarfile, are each refused with their own message
# and exit status 1; the stock-tool auditor recipe of the README agrees.

# A packed and signed copy of the example project: sets GOOD (the bundle),
# PUB (the trusted key) and NAMES (its entry names, in order, one a line).
make_good() {
	copy_example "$T_DIR/proj"
	"$SB" -C "$T_DIR/proj" keygen hq >/dev/null
	"$SB" -C "$T_DIR/proj" pack --key keys/hq.key -o "$T_DIR/good.tar.zst" \
	    >/dev/null
	GOOD=$T_DIR/good.tar.zst
	PUB=$T_DIR/proj/keys/hq.pub
	NAMES=$(tar -tf "$GOOD")
	[ "$(echo "$NAMES" | sed -n 1p)" = MANIFEST ] || fail "no MANIFEST"
}

# The Nth entry name of the good bundle (1 is MANIFEST).
entry() {
	echo "$NAMES" | sed -n "${1}p"
}

# hostile OUT MODE [ARGS]: a copy of the good bundle changed by MODE,
# written as OUT (zstd, like a real bundle).
hostile() {
	local out=$1
	shift
	zstd -q -d -c "$GOOD" >"$T_DIR/plain.tar"
	/usr/bin/python3 - "$T_DIR/plain.tar" "$T_DIR/hostile.tar" "$@" <<'EOF'
import io, sys, tarfile

src, dst, mode, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with tarfile.open(src, "r:") as t:
    members = [(m, t.extractfile(m).read()) for m in t.getmembers()]
names = [m.name for m, _ in members]
fmt = tarfile.USTAR_FORMAT

def at(name):
    return names.index(name)

def regular(name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, members[0][0].mtime
    return ti, data

def special(name, kind, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = kind, link, 0o644
    ti.mtime = members[0][0].mtime
    return ti, b""

if mode == "tamper":            # one flipped bit in an entry's data
    i = at(args[0]); m, d = members[i]
    members[i] = (m, bytes([d[0] ^ 1]) + d[1:])
elif mode == "extra":           # an unlisted file after entry AFTER
    members.insert(at(args[1]) + 1, regular(args[0], b"SELECT 1;\n"))
elif mode == "drop":
    del members[at(args[0])]
elif mode == "dup":             # the same entry twice in a row
    i = at(args[0]); members.insert(i + 1, members[i])
elif mode == "swap":
    i, j = at(args[0]), at(args[1])
    members[i], members[j] = members[j], members[i]
elif mode == "rename":
    i = at(args[0]); m, d = members[i]
    members[i] = regular(args[1], d)
elif mode == "symlink":
    members[at(args[0])] = special(args[0], tarfile.SYMTYPE, "/etc/passwd")
elif mode == "hardlink":
    members[at(args[0])] = special(args[0], tarfile.LNKTYPE, "MANIFEST")
elif mode == "fifo":
    members[at(args[0])] = special(args[0], tarfile.FIFOTYPE)
elif mode == "pax":             # a harmless ustar name, the real one in pax
    i = at(args[0]); m, d = members[i]
    ti, d = regular("x", d)
    ti.pax_headers = {"path": args[0]}
    members[i] = (ti, d)
    fmt = tarfile.PAX_FORMAT
elif mode == "bigmanifest":     # 1 MiB + 1 byte of MANIFEST
    m, d = members[0]
    members[0] = regular("MANIFEST", d + b"#" * (1024 * 1024 + 1 - len(d)))
elif mode == "grow":            # an entry of SIZE bytes, zeros appended
    i = at(args[0]); m, d = members[i]
    members[i] = regular(args[0], d + bytes(int(args[1]) - len(d)))
elif mode == "badsig":          # one flipped bit in the signature
    m, d = members[1]
    members[1] = (m, bytes([d[0] ^ 1]) + d[1:])
elif mode == "manifest":        # MANIFEST edited, signature kept
    m, d = members[0]
    members[0] = (m, d.replace(b"Project: ", b"Project: x", 1))
else:
    sys.exit("unknown mode " + mode)

with tarfile.open(dst, "w", format=fmt) as t:
    for m, d in members:
        t.addfile(m, io.BytesIO(d) if m.isreg() else None)
EOF
	zstd -q -f "$T_DIR/hostile.tar" -o "$out"
}

# refused BUNDLE TEXT: verify exits 1 and says TEXT.
refused() {
	expect_err 1 "$2" "$SB" verify "$1" --trust "$PUB"
}

test_good_bundle_verifies() {
	make_good
	local before after
	# Verification writes nothing: not in the current folder, not beside
	# the bundle, not in the project.
	mkdir "$T_DIR/cwd"
	before=$(find "$T_DIR/cwd" "$T_DIR/proj" "$GOOD" -printf '%p %s %T@\n')
	(cd "$T_DIR/cwd" && expect_rc 0 "$SB" verify "$GOOD" --trust "$PUB")
	assert_out "bundle OK: $GOOD"
	after=$(find "$T_DIR/cwd" "$T_DIR/proj" "$GOOD" -printf '%p %s %T@\n')
	assert_eq "$after" "$before" "files changed by verify"
	# A folder of trusted keys with other files in it works too.
	mkdir "$T_DIR/trusted.d"
	cp "$PUB" "$T_DIR/trusted.d/hq.pub"
	echo "not a key" >"$T_DIR/trusted.d/README"
	expect_rc 0 "$SB" verify "$GOOD" --trust "$T_DIR/trusted.d"
	# A gzip bundle and a plain tar are read as well.
	"$SB" -C "$T_DIR/proj" pack --key keys/hq.key --compress gzip \
	    -o "$T_DIR/good.tar.gz" >/dev/null
	expect_rc 0 "$SB" verify "$T_DIR/good.tar.gz" --trust "$PUB"
	zstd -q -d -c "$GOOD" >"$T_DIR/good.tar"
	expect_rc 0 "$SB" verify "$T_DIR/good.tar" --trust "$PUB"
}

test_tampered_entry() {
	make_good
	hostile "$T_DIR/h.tar.zst" tamper "$(entry 4)"
	refused "$T_DIR/h.tar.zst" "tampered entry \"$(entry 4)\": SHA-256 mismatch"
	# The last entry too: checked when the archive ends.
	hostile "$T_DIR/h.tar.zst" tamper "$(entry '$')"
	refused "$T_DIR/h.tar.zst" "tampered entry \"$(entry '$')\": SHA-256 mismatch"
}

test_unlisted_entry() {
	make_good
	hostile "$T_DIR/h.tar.zst" extra upgrade/0099_evil.sql "$(entry 3)"
	refused "$T_DIR/h.tar.zst" 'unlisted entry "upgrade/0099_evil.sql"'
	hostile "$T_DIR/h.tar.zst" extra evil.sql "$(entry '$')"
	refused "$T_DIR/h.tar.zst" 'unlisted entry "evil.sql"'
}

test_missing_entry() {
	make_good
	hostile "$T_DIR/h.tar.zst" drop "$(entry '$')"
	refused "$T_DIR/h.tar.zst" "missing entry \"$(entry '$')\""
}

test_duplicate_entry() {
	make_good
	hostile "$T_DIR/h.tar.zst" dup "$(entry 3)"
	refused "$T_DIR/h.tar.zst" "duplicate entry \"$(entry 3)\""
	hostile "$T_DIR/h.tar.zst" dup "$(entry '$')"
	refused "$T_DIR/h.tar.zst" "duplicate entry \"$(entry '$')\""
}

test_entry_out_of_order() {
	make_good
	hostile "$T_DIR/h.tar.zst" swap "$(entry 3)" "$(entry 4)"
	refused "$T_DIR/h.tar.zst" "entry \"$(entry 4)\" out of order"
}

test_unsafe_paths() {
	make_good
	hostile "$T_DIR/h.tar.zst" rename "$(entry 3)" upgrade/../../evil.sql
	refused "$T_DIR/h.tar.zst" 'entry "upgrade/../../evil.sql": unsafe path'
	hostile "$T_DIR/h.tar.zst" rename "$(entry 3)" ../evil.sql
	refused "$T_DIR/h.tar.zst" 'entry "../evil.sql": unsafe path'
	hostile "$T_DIR/h.tar.zst" rename "$(entry 3)" /tmp/evil.sql
	refused "$T_DIR/h.tar.zst" 'entry "/tmp/evil.sql": unsafe path'
	# Control characters are escaped, never sent to the terminal.
	hostile "$T_DIR/h.tar.zst" rename "$(entry 3)" "$(printf 'a\033[2Jb')"
	refused "$T_DIR/h.tar.zst" 'entry "a\x1b[2Jb": unsafe path'
	if grep -q "$(printf '\033')" "$T_DIR/err"; then
		fail "escape byte printed"
	fi
}

test_links_and_special_files() {
	make_good
	hostile "$T_DIR/h.tar.zst" symlink "$(entry 3)"
	refused "$T_DIR/h.tar.zst" "entry \"$(entry 3)\": not a regular file (symlink)"
	hostile "$T_DIR/h.tar.zst" hardlink "$(entry 3)"
	refused "$T_DIR/h.tar.zst" "entry \"$(entry 3)\": not a regular file (hardlink)"
	hostile "$T_DIR/h.tar.zst" fifo "$(entry 3)"
	refused "$T_DIR/h.tar.zst" "entry \"$(entry 3)\": not a regular file (fifo)"
}

test_pax_path_override() {
	make_good
	hostile "$T_DIR/h.tar.zst" pax "$(entry 3)"
	# The pax header is there, and says the listed name.
	tar -tf "$T_DIR/h.tar.zst" | grep -qx "$(entry 3)"
	refused "$T_DIR/h.tar.zst" "entry \"$(entry 3)\": pax extended header not allowed"
}

test_truncated_and_garbage() {
	make_good
	local size
	size=$(stat -c %s "$GOOD")
	head -c $((size / 2)) "$GOOD" >"$T_DIR/h.tar.zst"
	refused "$T_DIR/h.tar.zst" "$T_DIR/h.tar.zst: truncated archive"
	# Cut at a tar block boundary, end marker lost.
	zstd -q -d -c "$GOOD" >"$T_DIR/plain.tar"
	size=$(stat -c %s "$T_DIR/plain.tar")
	head -c $(( (size / 2) / 512 * 512 )) "$T_DIR/plain.tar" >"$T_DIR/h.tar"
	refused "$T_DIR/h.tar" "$T_DIR/h.tar: truncated archive"
	yes "not a bundle" | head -c 20000 >"$T_DIR/garbage.tar.zst"
	refused "$T_DIR/garbage.tar.zst" "not a bundle: Unrecognized archive format"
	: >"$T_DIR/empty.tar.zst"
	refused "$T_DIR/empty.tar.zst" "not a bundle: Unrecognized archive format"
	gzip -n -c "$GOOD" >"$T_DIR/h.tar.zst.gz"
	refused "$T_DIR/h.tar.zst.gz" "more than one compression layer (zstd inside gzip)"
}

test_oversized_manifest() {
	make_good
	hostile "$T_DIR/h.tar.zst" bigmanifest
	refused "$T_DIR/h.tar.zst" "MANIFEST is too large (1048577 bytes, at most 1048576)"
}

test_entry_over_unpacked_size() {
	make_good
	local total
	total=$(tar -xOf "$GOOD" MANIFEST | sed -n 's/^Unpacked-Size: //p')
	hostile "$T_DIR/h.tar.zst" grow "$(entry 3)" $((total + 1))
	refused "$T_DIR/h.tar.zst" "entry \"$(entry 3)\": size exceeds Unpacked-Size"
	# A decompression bomb: 128 MiB of zeros, a few KiB on disk, refused
	# from its header before it is inflated.
	hostile "$T_DIR/h.tar.zst" grow "$(entry 4)" $((128 * 1024 * 1024))
	[ "$(stat -c %s "$T_DIR/h.tar.zst")" -lt $((1024 * 1024)) ] ||
	    fail "bomb is not small"
	refused "$T_DIR/h.tar.zst" "entry \"$(entry 4)\": size exceeds Unpacked-Size"
}

test_wrong_key() {
	make_good
	local id
	"$SB" -C "$T_DIR/proj" keygen other >/dev/null
	"$SB" -C "$T_DIR/proj" pack --key keys/other.key -o "$T_DIR/other.tar.zst" \
	    >/dev/null
	# Key id, computed with stock tools: SHA-256 of the raw key bytes.
	id=$(openssl pkey -pubin -in "$T_DIR/proj/keys/other.pub" -outform DER |
	    tail -c 32 | sha256sum | cut -c1-16)
	refused "$T_DIR/other.tar.zst" "bundle signed by untrusted key $id"
	expect_rc 0 "$SB" verify "$T_DIR/other.tar.zst" --trust \
	    "$T_DIR/proj/keys/other.pub"
	# Both keys in a folder: either bundle passes.
	expect_rc 0 "$SB" verify "$T_DIR/other.tar.zst" --trust "$T_DIR/proj/keys"
	expect_rc 0 "$SB" verify "$GOOD" --trust "$T_DIR/proj/keys"
}

test_bad_signature() {
	make_good
	hostile "$T_DIR/h.tar.zst" badsig
	refused "$T_DIR/h.tar.zst" "$T_DIR/h.tar.zst: bad signature"
	hostile "$T_DIR/h.tar.zst" manifest
	refused "$T_DIR/h.tar.zst" "$T_DIR/h.tar.zst: bad signature"
}

test_trust_errors() {
	make_good
	mkdir "$T_DIR/nokeys"
	echo "x" >"$T_DIR/nokeys/README"
	expect_err 1 "no trusted keys in \"$T_DIR/nokeys\"" \
	    "$SB" verify "$GOOD" --trust "$T_DIR/nokeys"
	echo "garbage" >"$T_DIR/nokeys/bad.pub"
	expect_err 1 "\"$T_DIR/nokeys/bad.pub\" is not a PEM public key" \
	    "$SB" verify "$GOOD" --trust "$T_DIR/nokeys"
	expect_err 4 "$T_DIR/missing.pub" \
	    "$SB" verify "$GOOD" --trust "$T_DIR/missing.pub"
}

test_auditor_recipe() {
	make_good
	audit "$GOOD" "$PUB" || fail "auditor recipe refused the good bundle"
	grep -q "Signature Verified Successfully" "$T_DIR/audit.out"

	hostile "$T_DIR/h.tar.zst" tamper "$(entry 4)"
	! audit "$T_DIR/h.tar.zst" "$PUB" || fail "recipe passed a tampered entry"
	grep -qF "$(entry 4)" "$T_DIR/audit.out"

	hostile "$T_DIR/h.tar.zst" extra evil.sql "$(entry '$')"
	! audit "$T_DIR/h.tar.zst" "$PUB" || fail "recipe passed an extra entry"
	grep -qF "> " "$T_DIR/audit.out"

	hostile "$T_DIR/h.tar.zst" drop "$(entry '$')"
	! audit "$T_DIR/h.tar.zst" "$PUB" || fail "recipe passed a missing entry"

	hostile "$T_DIR/h.tar.zst" badsig
	! audit "$T_DIR/h.tar.zst" "$PUB" || fail "recipe passed a bad signature"
	grep -q "Signature Verification Failure" "$T_DIR/audit.out"

	hostile "$T_DIR/h.tar.zst" manifest
	! audit "$T_DIR/h.tar.zst" "$PUB" || fail "recipe passed an edited MANIFEST"

	hostile "$T_DIR/h.tar.zst" symlink "$(entry 3)"
	! audit "$T_DIR/h.tar.zst" "$PUB" || fail "recipe passed a symlink"
	grep -q "not a regular file: " "$T_DIR/audit.out"

	hostile "$T_DIR/h.tar.zst" swap MANIFEST MANIFEST.sig
	! audit "$T_DIR/h.tar.zst" "$PUB" || fail "recipe passed a reordered head"

	"$SB" -C "$T_DIR/proj" keygen other >/dev/null
	! audit "$GOOD" "$T_DIR/proj/keys/other.pub" ||
	    fail "recipe passed under the wrong key"
}
