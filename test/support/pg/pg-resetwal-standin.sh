#!/bin/bash
# TEST ENVIRONMENT ONLY: a stand-in for PostgreSQL 12's `pg_resetwal -n`, which no registry in reach carries.
# pg_upgrade runs `<old bindir>/pg_resetwal -n <datadir>` to read the old cluster's control values; this answers
# with the values of `pg_controldata` beside it (a newer one, which reads a 12 control file: same layout), in
# pg_resetwal's format, plus what only pg_resetwal computes: the first WAL segment after a reset, which is one
# past the highest of the checkpoint's REDO segment and every segment in pg_wal (as pg_resetwal's FindEndOfXLOG).
# It changes nothing, and it refuses every other use. test/e2e/pg/resetwal-standin.test.ts checks its answers
# against the 12 server's own pg_control_*() functions. The product's Job runs the upgrade image's real binaries.
set -euo pipefail
case "${1:-}" in
  -V|--version) echo "pg_resetwal (PostgreSQL) 12 (test-environment stand-in)"; exit 0 ;;
  -n) data="${2:?usage: pg_resetwal -n DATADIR}" ;;
  *) echo "pg_resetwal stand-in: only -n (dry run) and -V are supported" >&2; exit 2 ;;
esac
cd "$data"
# PG_CONTROLDATA lets the cross-check test run this text from standard input against another major.
control=$(LC_ALL=C "${PG_CONTROLDATA:-$(dirname "$0")/pg_controldata}" "$data")
value() { printf '%s\n' "$control" | awk -v l="$1:" 'index($0, l) == 1 { v = substr($0, length(l) + 1); sub(/^[ \t]+/, "", v); print v; exit }'; }

tli=$(value "Latest checkpoint's TimeLineID")
segsize=$(value "Bytes per WAL segment")
redo=$(value "Latest checkpoint's REDO WAL file")
per_id=$(( 0x100000000 / segsize ))
segno() { echo $(( 0x${1:8:8} * per_id + 0x${1:16:8} )); }
next=$(segno "$redo")
shopt -s nullglob
for f in pg_wal/[0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]; do
  s=$(segno "${f#pg_wal/}")
  if (( s > next )); then next=$s; fi
done
next=$(( next + 1 ))

echo "Current pg_control values:"
echo
for label in "pg_control version number" "Catalog version number" "Database system identifier" \
  "Latest checkpoint's TimeLineID" "Latest checkpoint's full_page_writes" "Latest checkpoint's NextXID" \
  "Latest checkpoint's NextOID" "Latest checkpoint's NextMultiXactId" "Latest checkpoint's NextMultiOffset" \
  "Latest checkpoint's oldestXID" "Latest checkpoint's oldestXID's DB" "Latest checkpoint's oldestActiveXID" \
  "Latest checkpoint's oldestMultiXid" "Latest checkpoint's oldestMulti's DB" "Latest checkpoint's oldestCommitTsXid" \
  "Latest checkpoint's newestCommitTsXid" "Maximum data alignment" "Database block size" \
  "Blocks per segment of large relation" "WAL block size" "Bytes per WAL segment" "Maximum length of identifiers" \
  "Maximum columns in an index" "Maximum size of a TOAST chunk" "Size of a large-object chunk" \
  "Date/time type storage" "Float8 argument passing" "Data page checksum version"; do
  v=$(value "$label")
  [[ -n "$v" ]] || { echo "pg_resetwal stand-in: pg_controldata printed no \"$label\"" >&2; exit 1; }
  printf '%-38s%s\n' "$label:" "$v"
done
echo
echo
echo "Values to be changed:"
echo
printf '%-38s%08X%08X%08X\n' "First log segment after reset:" "$tli" $(( next / per_id )) $(( next % per_id ))
