#!/usr/bin/env bash
# End-to-end tests of `residue scan`, `residue cat` and `residue catalog stats` on a mirror with
# every container kind (built by make_test_mirror.py from the bundled samples).
# Usage: scan_test.sh RESIDUE_BIN TESTS_DATA_DIR [KILL_RUNS]
# Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$(cd "$2" && pwd)
kill_runs=${3:-6}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib.sh
. "$here/lib.sh"
dump() { "$py" "$here/dump_catalog.py" "$1"; }
stat_json() { "$bin" catalog stats --json "$1"; }

expect=$("$py" "$here/make_test_mirror.py" "$data/samples" "$work/m")
cd "$work"

# 1. Every container kind, counts as built.
"$bin" scan m --catalog c1.db -j2 2>"$work/err"; st=$?
check "clean mirror -> exit 0" test $st -eq 0
for kind in file tar zip tsv recordio; do
  want=$(field "['$kind']" <<<"$expect")
  got=$(stat_json c1.db | field "['by_container'].get('$kind', 0)")
  check "$kind items: $got (want $want)" test "$got" = "$want"
done
check "every item ok" test "$(stat_json c1.db | field "['by_status'].get('ok', 0)")" = "$(stat_json c1.db | field "['items']")"
dump c1.db >d1
check "metadata files are not items" bash -c "! grep -q -e README.txt -e '.json|' d1"
check "summary line on stderr" grep -q "scan: .* items in" "$work/err"

# 2. residue cat gives back the original bytes for every kind of locator.
cat_same() { "$bin" cat "$1" | cmp -s - "$2"; }
sample=gnome-control-center-data__cat.jpg
plain=$(grep -m1 "^m/folders/.*/$sample|" d1 | cut -d'|' -f1)
check "cat plain file" cat_same "$plain" "$data/samples/$sample"
loc_tar=$(grep -m1 '^m/shard-000000.tar!/' d1 | cut -d'|' -f1)
loc_tgz=$(grep -m1 '^m/shard-000001.tar.gz!/' d1 | cut -d'|' -f1)
loc_zip=$(grep -m1 "^m/part.zip!/imgs/$sample" d1 | cut -d'|' -f1)
check "tsv locator is file!/line/N" test "$(grep -c '^m/faces.tsv!/line/[1-5]|' d1)" -eq 5
check "recordio locators start at record 1 (record 0 is the header)" test "$(grep -c '^m/train.rec!/record/[1-5]|' d1)" -eq 5
for loc in "$loc_tar" "$loc_tgz" "$loc_zip" "m/faces.tsv!/line/1" "m/train.rec!/record/1"; do
  sha_cat=$("$bin" cat "$loc" | sha256sum | cut -d' ' -f1)
  sha_db=$(grep -F "$loc|" d1 | cut -d'|' -f5 | tr 'A-F' 'a-f')
  check "cat $loc matches the catalog's sha256" test -n "$sha_db" -a "$sha_cat" = "$sha_db"
done
check "cat of the zip member equals the sample file" cat_same "$loc_zip" "$data/samples/$sample"
"$bin" cat "m/part.zip!/nope.jpg" >/dev/null 2>&1; check "cat of a missing member -> exit 1" test $? -eq 1

# 3. Identical catalogs at 1, 2 and 4 threads.
cp d1 d2
for j in 1 4; do
  "$bin" scan m --catalog "cj$j.db" -j$j -q 2>/dev/null
  dump "cj$j.db" >"dj$j"
  check "catalog at -j$j identical to -j2" cmp -s d2 "dj$j"
done

# 4. Incremental rescans.
"$bin" scan m --catalog c1.db 2>"$work/err"
check "no-change rescan processes 0 items" grep -q "scan: 0 items" "$work/err"
cp "$data/samples/python3-skimage__coins.png" m/folders/new.png
cp "$data/samples/python3-skimage__camera.png" "$plain"   # changed content
rm "$(grep -m1 '^m/folders/.*rocket.jpg|' d1 | cut -d'|' -f1)"
"$bin" scan m --catalog c1.db 2>"$work/err"
check "rescan after add+change+delete processes 2 items" grep -q "scan: 2 items" "$work/err"
check "the deleted file's item is gone" grep -q "1 items gone" "$work/err"
check "stats count the gone item" test "$(stat_json c1.db | field "['gone']")" -eq 1
"$bin" scan m --catalog c1.db --rehash -q 2>"$work/err"
check "--rehash processes every item" test "$(grep -o 'scan: [0-9]* items' "$work/err" | grep -o '[0-9]*')" -eq "$(stat_json c1.db | field "['items']")"

# 5. Bad input: error rows with codes, the scan goes on, exit 1.
"$py" "$here/make_test_mirror.py" "$data/samples" "$work/mb" --bad >/dev/null
"$bin" scan mb/bad --catalog bad.db -q 2>"$work/err"; st=$?
check "bad inputs -> exit 1" test $st -eq 1
d=$(dump bad.db)
has_row() { grep -q -E "$1" <<<"$d"; }
check "empty file -> empty (2)" has_row '^mb/bad/empty.jpg\|.*\|2\|'
check "truncated jpeg -> truncated (4)" has_row '^mb/bad/truncated.jpg\|.*\|4\|'
check "non-image named .png -> unsupported (3)" has_row '^mb/bad/text.png\|.*\|3\|'
check "tsv line with bad base64 -> corrupt (5)" has_row '^mb/bad/broken.tsv!/line/2\|.*\|5\|'
check "tsv lines after it still scanned" has_row '^mb/bad/broken.tsv!/line/3\|.*\|0\|'
check "recordio bad magic -> error row" has_row '^mb/bad/broken.rec!/record/1\|.*\|(4|5)\|'
check "recordio first record still scanned" has_row '^mb/bad/broken.rec!/record/0\|.*\|0\|'
check "truncated tar -> first member ok" has_row '^mb/bad/cut.tar!/000001.jpg\|.*\|0\|'
check "truncated tar -> an error row" has_row '^mb/bad/cut.tar.*\|(4|5)\|'
check "summary counts errors by code" grep -q "errors by code:" "$work/err"

# 6. A file that is not a residue catalog is refused and left untouched.
printf 'precious' >notes.db
"$bin" scan m --catalog notes.db 2>/dev/null; st=$?
check "foreign catalog file -> exit 2" test $st -eq 2
check "foreign catalog file untouched" test "$(cat notes.db)" = "precious"

# 7. SIGKILL at random points, then resume: the final catalog equals a clean scan, and the
#    resumed runs do not redo committed work.
mkdir -p big/folders
for i in $(seq 1 60); do for f in "$data"/samples/*; do cp "$f" "big/folders/$i-$(basename "$f")"; done; done
cp m/shard-000000.tar m/faces.tsv m/train.rec m/part.zip big/
start=$(date +%s%N)
"$bin" scan big --catalog clean.db -j2 -q 2>/dev/null
clean_ms=$(( ($(date +%s%N) - start) / 1000000 ))
dump clean.db >clean.txt
total=$(wc -l <clean.txt)
for run in $(seq 1 "$kill_runs"); do
  rm -f k.db k.db-wal k.db-shm
  # Kill points spread over the whole length of a clean scan; small batches so that many
  # transactions are in flight.
  delay=$(awk -v s="$run" -v ms="$clean_ms" 'BEGIN { srand(s); printf "%.3f", rand() * ms / 1000 }')
  "$bin" scan big --catalog k.db -j2 -q --batch 7 2>/dev/null & pid=$!
  sleep "$delay"; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  # Read-only URI: a plain connect() would create an empty k.db when the kill came first.
  committed=$("$py" -c "import sqlite3; print(sqlite3.connect('file:k.db?mode=ro', uri=True).execute('select count(*) from items').fetchone()[0])" 2>/dev/null || echo 0)
  "$bin" scan big --catalog k.db -j2 -q 2>"$work/err"
  redone=$(grep -o 'scan: [0-9]* items' "$work/err" | grep -o '[0-9]*')
  dump k.db >k.txt
  if cmp -s clean.txt k.txt && [ "$redone" -le $((total - committed + 0)) ]; then
    ok "kill -9 after ${delay}s ($committed of $total committed), resume hashed $redone: catalog identical"
  else
    bad "kill -9 after ${delay}s: committed $committed, resumed $redone of $total; diff: $(diff clean.txt k.txt | head -3)"
  fi
done

# 8. Help explains locators and containers.
help=$("$bin" scan --help)
for w in "!/" "line/" "record/" "RecordIO" "WebDataset" "--rehash" "--exclude" "Exit status"; do
  check "scan --help mentions $w" grep -q -- "$w" <<<"$help"
done

finish
