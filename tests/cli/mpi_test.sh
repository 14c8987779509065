#!/usr/bin/env bash
# End-to-end tests of `residue scan|match|dedup --mpi` (src/dist/) under
# `mpirun --oversubscribe -n 1|2|4` on loopback: catalogs identical to the single-process scan's
# (every column but times and run ids, and the files table), also for incremental rescans and
# with TSV/RecordIO files cut into ranges across ranks; reports byte-identical to the
# single-process command's. Also: a rank that dies fails the job with mpirun naming the rank, the
# catalog stays valid and rerunning finishes it; a run error on the ranks ends the job with
# exit 2 and "rank R of N" in the message.
# Usage: mpi_test.sh RESIDUE_BIN TESTS_DATA_DIR [MPIRUN]
# Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
echo "work: $work" >&2
# shellcheck source=lib.sh
. "$here/lib.sh"
mpi=("${3:-mpirun}" --oversubscribe)
if [ "$(id -u)" -eq 0 ]; then mpi+=(--allow-run-as-root); fi
# Containers often forbid the cross-memory attach Open MPI's shared-memory transport uses for
# large messages (ptrace scope); plain copies work everywhere and are fast enough here.
export OMPI_MCA_btl_vader_single_copy_mechanism=none

cd "$work"
dump() { "$py" "$here/dump_catalog.py" "$1" --all; }
summary_counts() { grep '^residue: scan: [0-9]* items' "$1" | sed 's/ in [0-9.]* s ([^)]*)//'; }

# --- scan --mpi. A mirror with every container kind and every kind of bad input, and cut/ (a
# RecordIO, a TSV with a bad line and a RecordIO with bad framing, 0.9-2.3 MB each); with
# --split-min-mb 0 a TSV or RecordIO file that straddles a share boundary is cut into ranges.
"$py" "$here/make_test_mirror.py" "$data/samples" s --bad --big >/dev/null
"$bin" scan s --catalog sref.db 2>sref_err
check "scan reference: exit 1 (bad items)" test $? -eq 1
dump sref.db >sref.txt
check "scan reference has TSV and RecordIO items" grep -q 'faces.tsv!/line/.*train.rec!/record/' \
  <(tr '\n' ' ' <sref.txt)
for n in 1 2 3 4; do
  "${mpi[@]}" -n "$n" "$bin" scan --mpi s --catalog "s$n.db" --split-min-mb 0 2>"serr$n"
  check "scan -n $n: exit 1 (bad items)" test $? -eq 1
  dump "s$n.db" >"s$n.txt"
  check "scan -n $n: catalog identical" cmp -s sref.txt "s$n.txt"
  check "scan -n $n: summary counts identical" test "$(summary_counts sref_err)" = \
    "$(summary_counts "serr$n")"
  check "scan -n $n: error lines identical" \
    test "$(grep '^residue: s/' sref_err | sort)" = "$(grep '^residue: s/' "serr$n" | sort)"
done
check "scan -n 1: nothing cut" grep -q ' 0 files cut' serr1
check "scan -n 2: files cut into ranges" grep -Eq ' [1-9][0-9]* files cut into [2-9]' serr2
check "scan -n 4: files cut into ranges" grep -Eq ' [1-9][0-9]* files cut into [2-9]' serr4
# At 3 ranks a boundary falls in the RecordIO with bad framing: its ranges cannot all be counted,
# so it is scanned whole (and the catalog above is still the single-process one).
check "scan -n 3: the damaged RecordIO scanned whole" grep -q '(1 more scanned whole' serr3
check "scan: error lines are there to compare" test "$(grep -c '^residue: s/' sref_err)" -ge 8
check "scan: summary there to compare" grep -q "^residue: scan: [0-9]* items" sref_err

# Incremental rescans: the same changes seen by a single-process and a 2-rank rescan.
cp -a s s_before
cp sref.db inc1.db
cp s2.db inc2.db
rm s/folders/b/deep/gnome-control-center-data__cat.jpg
cp "$data/samples/python3-skimage__coins.png" s/folders/new-coins.png
touch -d '2001-01-01' s/faces.tsv
"$bin" scan s --catalog inc1.db -q 2>inc1_err
"${mpi[@]}" -n 2 "$bin" scan --mpi s --catalog inc2.db --split-min-mb 0 2>inc2_err
check "rescan -n 2: catalog identical" cmp -s <(dump inc1.db) <(dump inc2.db)
check "rescan -n 2: summary counts identical" \
  test "$(summary_counts inc1_err)" = "$(summary_counts inc2_err)"
check "rescan: unchanged files skipped" grep -Eq ' [1-9][0-9]* unchanged files skipped' inc2_err
check "rescan: a gone item" grep -q ' 1 items gone' inc2_err
rm -rf s && mv s_before s

# A rank that dies mid-scan (test hook: rank 1 exits after sending 3 results): the job fails,
# mpirun names the rank, the catalog stays valid, and rerunning gives the reference catalog.
RESIDUE_DIST_TEST_DIE_RANK=1 RESIDUE_DIST_TEST_DIE_AFTER=3 "${mpi[@]}" -n 2 "$bin" scan --mpi s \
  --catalog dead.db --split-min-mb 0 --batch 1 -q >/dev/null 2>sdead_err
check "scan, rank 1 dies: job exits non-zero" test $? -ne 0
check "scan, rank 1 dies: mpirun names rank 1" \
  grep -Eq 'Process name: +\[\[[0-9]+,[0-9]+\],1\]' sdead_err
check "scan, rank 1 dies: catalog passes integrity check" \
  test "$("$py" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' dead.db)" = ok
"${mpi[@]}" -n 2 "$bin" scan --mpi s --catalog dead.db --split-min-mb 0 -q 2>/dev/null
check "scan rerun after the death: exit 1 (bad items)" test $? -eq 1
check "scan rerun after the death: catalog identical" cmp -s sref.txt <(dump dead.db)

# --- match and dedup --mpi.
"$py" "$here/make_test_mirror.py" "$data/samples" "$work/m" >/dev/null
withdrawn_a=gnome-control-center-data__cat.jpg
withdrawn_b=gnome-control-center-data__flower2.jpg
mkdir withdrawn
cp "$data/samples/$withdrawn_a" "$data/samples/$withdrawn_b" withdrawn/
# Edited copies, so that the reports hold near and review rows as well as exact ones.
"$py" - "$data/samples/$withdrawn_a" "$data/samples/$withdrawn_b" m/edits <<'PY'
import os, sys
from PIL import Image, ImageOps
a, b, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
A = Image.open(a).convert("RGB"); B = Image.open(b).convert("RGB")
w, h = A.size
A.resize((w // 2, h // 2), Image.LANCZOS).save(f"{out}/a_half.jpg", quality=60)
A.crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(f"{out}/a_crop90.jpg", quality=90)
ImageOps.expand(A, border=w // 10, fill=(255, 255, 255)).save(f"{out}/a_border.jpg", quality=90)
ImageOps.grayscale(B).save(f"{out}/b_grey.jpg", quality=80)
B.save(f"{out}/b_q30.jpg", quality=30)
PY
"$bin" scan m --catalog c.db -q 2>/dev/null
"$bin" bank add --bank b.db withdrawn 2>/dev/null
check "scan and bank" test -s c.db -a -s b.db

# Single-process references.
"$bin" match --catalog c.db --bank b.db --out ref_match.csv --out ref_match.jsonl -q
"$bin" dedup --catalog c.db --out ref_dedup.csv --out ref_dedup.jsonl -q
"$bin" dedup --catalog c.db --tiers exact,near,review --out ref_dedup_all.csv -q
check "reference match has near rows" grep -q ',near,' ref_match.csv
check "reference dedup has clusters" test "$(wc -l <ref_dedup.csv)" -gt 10

for n in 1 2 4; do
  "${mpi[@]}" -n "$n" "$bin" match --mpi --catalog c.db --bank b.db --out "m$n.csv" \
    --out "m$n.jsonl" -q 2>"err$n"
  check "match -n $n: exit 0" test $? -eq 0
  check "match -n $n: CSV identical" cmp -s ref_match.csv "m$n.csv"
  check "match -n $n: JSONL identical" cmp -s ref_match.jsonl "m$n.jsonl"
  "${mpi[@]}" -n "$n" "$bin" dedup --mpi --catalog c.db --out "d$n.csv" --out "d$n.jsonl" -q \
    2>>"err$n"
  check "dedup -n $n: exit 0" test $? -eq 0
  check "dedup -n $n: CSV identical" cmp -s ref_dedup.csv "d$n.csv"
  check "dedup -n $n: JSONL identical" cmp -s ref_dedup.jsonl "d$n.jsonl"
  "${mpi[@]}" -n "$n" "$bin" dedup --mpi --catalog c.db --tiers exact,near,review \
    --out "da$n.csv" -q 2>>"err$n"
  check "dedup review tiers -n $n: CSV identical" cmp -s ref_dedup_all.csv "da$n.csv"
done

# The summary on stderr, and stdout when no --out is given, as the single-process command.
"$bin" match --catalog c.db --bank b.db >ref_stdout.csv 2>ref_summary
"${mpi[@]}" -n 2 "$bin" match --mpi --catalog c.db --bank b.db >m_stdout.csv 2>m_summary
check "match -n 2: stdout identical" cmp -s ref_stdout.csv m_stdout.csv
check "match -n 2: summary counts identical" \
  test "$(sed 's/; [0-9.]* s searching//' ref_summary)" = "$(sed 's/; [0-9.]* s searching//' m_summary)"

# A rank that dies (test hook: rank 1 exits with status 3 before the results are gathered).
RESIDUE_DIST_TEST_DIE_RANK=1 "${mpi[@]}" -n 2 "$bin" match --mpi --catalog c.db --bank b.db \
  --out dead.csv -q >/dev/null 2>dead_err
st=$?
check "rank 1 dies: job exits non-zero" test $st -ne 0
check "rank 1 dies: mpirun names rank 1" grep -Eq 'Process name: +\[\[[0-9]+,[0-9]+\],1\]' dead_err
check "rank 1 dies: no report left behind" test ! -e dead.csv
RESIDUE_DIST_TEST_DIE_RANK=1 "${mpi[@]}" -n 2 "$bin" dedup --mpi --catalog c.db -q \
  >/dev/null 2>dead_err2
check "rank 1 dies in dedup: job exits non-zero" test $? -ne 0

# A run error: every rank reports it with its rank; the job exits 2.
"${mpi[@]}" -n 2 "$bin" match --mpi --catalog missing.db --bank b.db >/dev/null 2>miss_err
check "missing catalog: exit 2" test $? -eq 2
check "missing catalog: message names the rank" grep -q 'rank [01] of 2: missing.db' miss_err

finish
