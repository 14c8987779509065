#!/usr/bin/env bash
# End-to-end tests of `residue match --mpi` and `residue dedup --mpi` (src/dist/) under
# `mpirun --oversubscribe -n 1|2|4` on loopback: the reports must be byte-identical to the
# single-process command's. Also: a rank that dies fails the job with mpirun naming the rank; a
# run error on the ranks ends the job with exit 2 and "rank R of N" in the message.
# Usage: mpi_test.sh RESIDUE_BIN TESTS_DATA_DIR [MPIRUN]
# Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib.sh
. "$here/lib.sh"
mpi=("${3:-mpirun}" --oversubscribe)
if [ "$(id -u)" -eq 0 ]; then mpi+=(--allow-run-as-root); fi
# Containers often forbid the cross-memory attach Open MPI's shared-memory transport uses for
# large messages (ptrace scope); plain copies work everywhere and are fast enough here.
export OMPI_MCA_btl_vader_single_copy_mechanism=none

"$py" "$here/make_test_mirror.py" "$data/samples" "$work/m" >/dev/null
cd "$work"
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
