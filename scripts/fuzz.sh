#!/bin/sh
# `make fuzz FUZZ_SECONDS=N`: build the libFuzzer targets in fuzz/ with
# clang (fuzzer, address and undefined sanitizers), seed their corpora from
# the example project and from bundles packed here (good and hostile), and
# run each for N seconds. A crash leaves its input in .tmp/fuzz/artifacts/
# and fails the run.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
FUZZ_CC=${FUZZ_CC:-clang}
out=.tmp/fuzz
mkdir -p "$out/bin" "$out/artifacts"

flags="-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -Iinclude
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(pkg-config --cflags libarchive libcrypto)"
libs="$(pkg-config --libs libarchive libcrypto)"
for t in revision manifest bundle fingerprints root; do
	# shellcheck disable=SC2086
	$FUZZ_CC $flags -o "$out/bin/fuzz_$t" "fuzz/fuzz_$t.c" src/common/*.c $libs
done
# HQ's seed file wrapper against the store's streamed parse.
# shellcheck disable=SC2086
$FUZZ_CC $flags -Isrc -o "$out/bin/fuzz_csv_header" fuzz/fuzz_csv_header.c \
    src/common/*.c src/pack/seeds.c $libs

# Seed corpora: committed seeds plus what the example project gives.
for t in revision manifest bundle csv_header fingerprints root; do
	mkdir -p "$out/corpus/$t"
	[ -d "fuzz/seeds/$t" ] && cp fuzz/seeds/$t/* "$out/corpus/$t/" 2>/dev/null || true
done
cp revisions/*.sql tests/fixtures/chains/*/revisions/*.sql "$out/corpus/revision/" 2>/dev/null || true
# CSV seeds, after the two bytes that pick the chunking.
for f in seeds/*/*.csv; do
	{ printf 'ab'; cat "$f"; } >"$out/corpus/csv_header/$(basename "$f")"
done
work=$out/work
rm -rf "$work"
mkdir -p "$work/keys" "$work/bundles"
cp -r revisions seeds sqlbundle.conf "$work/"
bin/sqlbundle -C "$work" keygen fuzz >/dev/null
for c in zstd gzip; do
	SOURCE_DATE_EPOCH=1700000000 bin/sqlbundle -C "$work" pack --key keys/fuzz.key \
	    --compress $c -o "bundles/example.$c" >/dev/null
	cp "$work/bundles/example.$c" "$out/corpus/bundle/"
done
SOURCE_DATE_EPOCH=1700000000 bin/sqlbundle -C "$work" pack --key keys/fuzz.key \
    --from 853113448960 -o bundles/small.tar.gz --compress gzip >/dev/null
cp "$work/bundles/small.tar.gz" "$out/corpus/bundle/"
tar -xOf "$work/bundles/example.zstd" MANIFEST >"$out/corpus/manifest/example"
tar -xOf "$work/bundles/small.tar.gz" MANIFEST >"$out/corpus/manifest/small"
# Roots: one signed, one repeated signature, one unsigned.
bin/sqlbundle -C "$work" keygen fuzz2 >/dev/null
bin/sqlbundle trust new -o "$work/root" --threshold 1 --version 3 \
    "$work/keys/fuzz.pub" "$work/keys/fuzz2.pub" >/dev/null
cp "$work/root" "$out/corpus/root/unsigned"
bin/sqlbundle trust sign "$work/root" --key "$work/keys/fuzz.key" >/dev/null
cp "$work/root" "$out/corpus/root/signed"
sed -n '/^Signature: /p' "$work/root" >>"$work/root"
cp "$work/root" "$out/corpus/root/repeated"
# An uncompressed tar, so mutations reach the tar headers directly.
gzip -dc "$work/bundles/small.tar.gz" >"$out/corpus/bundle/small.tar"
# Hostile variants of it, as the integration tests make them: truncated,
# a symlink, a pax header, an extra entry, a tampered byte.
/usr/bin/python3 - "$out/corpus/bundle/small.tar" "$out/corpus/bundle" <<'PY'
import io, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
open(dst + "/hostile-truncated.tar", "wb").write(data[: len(data) // 2])
members = []
with tarfile.open(src) as t:
    for m in t.getmembers():
        members.append((m, t.extractfile(m).read()))
def write(name, fmt, extra):
    with tarfile.open(dst + "/" + name, "w", format=fmt) as t:
        for m, b in members:
            t.addfile(m, io.BytesIO(b))
        extra(t)
def symlink(t):
    i = tarfile.TarInfo("seeds/0001_x/link.csv"); i.type = tarfile.SYMTYPE
    i.linkname = "/etc/passwd"; t.addfile(i)
def unlisted(t):
    i = tarfile.TarInfo("upgrade/9999_x.sql"); b = b"SELECT 1;\n"
    i.size = len(b); t.addfile(i, io.BytesIO(b))
write("hostile-symlink.tar", tarfile.USTAR_FORMAT, symlink)
write("hostile-unlisted.tar", tarfile.USTAR_FORMAT, unlisted)
write("hostile-pax.tar", tarfile.PAX_FORMAT, unlisted)
tampered = bytearray(data); tampered[-1100] ^= 1
open(dst + "/hostile-tampered.tar", "wb").write(bytes(tampered))
PY

# A rehearsal's FINGERPRINTS, when the tree has one (`make demo`).
[ -f revisions/FINGERPRINTS ] && cp revisions/FINGERPRINTS "$out/corpus/fingerprints/example"

status=0
for t in revision manifest bundle csv_header fingerprints root; do
	echo "fuzz_$t: ${secs}s"
	SB_FUZZ_TRUST=$work/keys/fuzz.pub "$out/bin/fuzz_$t" \
	    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$out/artifacts/fuzz_$t-" -print_final_stats=1 \
	    "$out/corpus/$t" >"$out/fuzz_$t.log" 2>&1 || status=1
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$out/fuzz_$t.log" || true
	grep -E 'ERROR: |SUMMARY: ' "$out/fuzz_$t.log" || true
done
[ $status -eq 0 ] && echo "fuzz: no crash" || echo "fuzz: crash, see $out/artifacts"
exit $status
