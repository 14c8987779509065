#!/usr/bin/env bash
# End-to-end tests of `residue bank`, `residue match` and `residue dedup` on a mirror with every
# container kind (make_test_mirror.py) plus edited copies of the withdrawn images (Pillow), and
# the HTML reports opened in headless Chromium (check_html.py).
# Usage: match_test.sh RESIDUE_BIN TESTS_DATA_DIR
# Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib.sh
. "$here/lib.sh"
# rows of a CSV report whose column $2 equals $3 (python csv: locators may hold commas)
count_rows() {
  "$py" -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline='')));
print(sum(1 for x in r if all(x[k] == v for k, v in (a.split('=', 1) for a in sys.argv[2:]))))" "$@"
}

"$py" "$here/make_test_mirror.py" "$data/samples" "$work/m" >/dev/null
cd "$work"
withdrawn_a=gnome-control-center-data__cat.jpg
withdrawn_b=gnome-control-center-data__flower2.jpg
mkdir withdrawn
cp "$data/samples/$withdrawn_a" "$data/samples/$withdrawn_b" withdrawn/
# Edited copies of the withdrawn images, as a mirror would hold them.
"$py" - "$data/samples/$withdrawn_a" "$data/samples/$withdrawn_b" m/edits <<'EOF'
import os, sys
from PIL import Image, ImageOps
a, b, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
A = Image.open(a).convert("RGB"); B = Image.open(b).convert("RGB")
w, h = A.size
A.transpose(Image.FLIP_LEFT_RIGHT).save(f"{out}/a_mirrored.jpg", quality=85)
A.rotate(90, expand=True).save(f"{out}/a_rot90.png")
A.resize((w // 2, h // 2), Image.LANCZOS).save(f"{out}/a_half.jpg", quality=60)
A.crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(f"{out}/a_crop90.jpg", quality=90)
ImageOps.expand(A, border=w // 10, fill=(255, 255, 255)).save(f"{out}/a_border.jpg", quality=90)
ImageOps.grayscale(B).save(f"{out}/b_grey.jpg", quality=80)
B.save(f"{out}/b_q30.jpg", quality=30)
logo = A.copy(); s = int(min(w, h) * 0.38)   # an opaque logo in the bottom-right corner
for y in range(s):
    for x in range(s):
        logo.putpixel((w - s - 8 + x, h - s - 8 + y), (230, 30, 40) if (x // 12 + y // 12) % 2 else (255, 255, 255))
logo.save(f"{out}/a_logo.jpg", quality=90)
EOF
edits=8
occurrences() {  # items of the catalog with the bytes of sample $1 (read with sqlite3, not residue)
  local sha
  sha=$(sha256sum "$data/samples/$1" | cut -d' ' -f1 | tr a-f A-F)
  "$py" "$here/dump_catalog.py" c.db | awk -F'|' -v s="$sha" '$5 == s' | wc -l | tr -d ' '
}

# 1. scan, then build the bank.
"$bin" scan m --catalog c.db -q 2>/dev/null
check "scan -> catalog" test -s c.db
"$bin" bank add --bank b.db --label request-7 withdrawn 2>err; st=$?
check "bank add -> exit 0" test $st -eq 0
check "bank add summary" grep -q "2 images added (36 hashes)" err
check "bank stats --json: 2 entries, 36 hashes (8 transforms, 6 crops, 4 strips each)" \
  test "$("$bin" bank stats --json b.db | field "['entries'], d['hashes'], d['labels']['request-7']")" = "(2, 36, 2)"
"$bin" bank add --bank b.db withdrawn 2>err; st=$?
check "adding the same images again is a no-op" grep -q "0 images added (0 hashes), 2 already" err

# 2. match: CSV, JSONL and HTML in one run.
"$bin" match --catalog c.db --bank b.db --out r.csv --out r.jsonl --out r.html 2>err; st=$?
check "match -> exit 0" test $st -eq 0
check "CSV header names" test "$(head -1 r.csv)" = \
  "locator,container,bank_locator,bank_label,tier,pdq_distance,phash_distance,dihedral,quality,sha256,size,view,trimmed"
rows=$(($(wc -l <r.csv) - 1))
check "JSONL has the CSV's rows ($rows)" test "$(wc -l <r.jsonl)" -eq "$rows"
check "JSONL rows parse, keys in CSV order" "$py" -c "
import json, sys
keys = open('r.csv').readline().strip().split(',')
for line in open('r.jsonl'):
    assert list(json.loads(line)) == keys, line
"
want_a=$(occurrences "$withdrawn_a"); want_b=$(occurrences "$withdrawn_b")
check "every byte copy of A is exact ($want_a, every container kind)" \
  test "$(count_rows r.csv tier=exact bank_locator=withdrawn/$withdrawn_a)" -eq "$want_a"
check "every byte copy of B is exact ($want_b)" \
  test "$(count_rows r.csv tier=exact bank_locator=withdrawn/$withdrawn_b)" -eq "$want_b"
for kind in file tar zip tsv recordio; do
  check "exact copies found in $kind" test "$(count_rows r.csv tier=exact container=$kind)" -gt 0
done
for e in a_mirrored.jpg a_rot90.png a_half.jpg a_crop90.jpg a_border.jpg a_logo.jpg b_grey.jpg b_q30.jpg; do
  check "edited copy $e is near" test "$(count_rows r.csv tier=near locator=m/edits/$e)" -eq 1
done
check "mirrored copy matched through the flipy transform" \
  test "$(count_rows r.csv locator=m/edits/a_mirrored.jpg dihedral=flipy)" -eq 1
check "bordered copy matched through its trimmed hashes" \
  test "$(count_rows r.csv locator=m/edits/a_border.jpg trimmed=true)" -eq 1
check "logo copy matched through a strip that leaves the corner out" \
  test "$(( $(count_rows r.csv locator=m/edits/a_logo.jpg view=top55) + $(count_rows r.csv locator=m/edits/a_logo.jpg view=left55) ))" -eq 1
check "no other image is exact or near (zero false matches)" test \
  "$(( $(count_rows r.csv tier=exact) + $(count_rows r.csv tier=near) ))" -eq $((want_a + want_b + edits))
check "summary on stderr" grep -q "match: .* items against 2 bank entries" err
check "HTML report: every row present, every thumbnail decoded (headless Chromium)" \
  "$py" "$here/check_html.py" r.html --rows "$rows"
"$bin" match --catalog c.db --bank b.db --tiers exact >stdout.csv 2>/dev/null
check "no --out: CSV on stdout, --tiers filters" \
  test "$(($(wc -l <stdout.csv) - 1))" -eq $((want_a + want_b))

# 3. Allow bank: items matching a known-legitimate image are never reported.
mkdir legit && cp "$data/samples/gnome-control-center-data__mountain.jpg" legit/
"$bin" bank add --bank b.db --label mountain legit 2>/dev/null
"$bin" bank add --bank allow.db legit 2>/dev/null
"$bin" match --catalog c.db --bank b.db --out with.csv -q 2>/dev/null
"$bin" match --catalog c.db --bank b.db --allow allow.db --out allowed.csv 2>err
mountain=$(occurrences gnome-control-center-data__mountain.jpg)
check "without the allow bank the mountain copies are reported ($mountain)" \
  test "$(count_rows with.csv bank_label=mountain tier=exact)" -eq "$mountain"
check "with it they are not, and the withdrawn copies still are" \
  test "$(count_rows allowed.csv bank_label=mountain)" -eq 0 -a \
  "$(count_rows allowed.csv bank_label=request-7 tier=exact)" -eq $((want_a + want_b))
check "allow summary counts the suppressed items" grep -q "$mountain items suppressed by the allow bank" err
"$bin" bank remove --bank b.db --label mountain 2>/dev/null
check "bank remove --label" test "$("$bin" bank stats --json b.db | field "['entries']")" = 2

# 4. Hash lists: export, import back, same matches; the formats other tools write.
"$bin" bank export --bank b.db --format pdq-csv >list.csv
check "export: 36 lines, hash,quality first" \
  "$py" -c "import re,sys; l=open('list.csv').read().splitlines(); assert len(l)==36; assert all(re.match(r'^[0-9a-f]{64},\d+,', x) for x in l)"
"$bin" bank export --bank b.db --format jsonl >list.jsonl
check "export jsonl: one object per entry with its hashes" \
  "$py" -c "import json; e=[json.loads(x) for x in open('list.jsonl')]; assert len(e)==2 and all(len(x['hashes'])==18 for x in e)"
check "exports hold no image bytes" bash -c "! grep -qi -e thumbnail -e jfif list.csv list.jsonl"
"$bin" bank import --bank imported.db list.csv 2>err; st=$?
check "import of an export -> exit 0, 2 entries" \
  test $st -eq 0 -a "$("$bin" bank stats --json imported.db | field "['entries'], d['hashes']")" = "(2, 36)"
"$bin" match --catalog c.db --bank imported.db --out imp.csv -q 2>/dev/null
key() { "$py" -c "import csv,sys; print(sorted((r['locator'],r['tier'],r['pdq_distance'],r['phash_distance'],r['dihedral'],r['view']) for r in csv.DictReader(open(sys.argv[1]))))" "$1"; }
check "imported list finds exactly what the image bank finds" test "$(key imp.csv)" = "$(key r.csv)"

pdq_a=$("$bin" hash "withdrawn/$withdrawn_a" | cut -d, -f1)
pdq_b=$("$bin" hash "withdrawn/$withdrawn_b" | cut -d, -f1)
sha_a=$(sha256sum "withdrawn/$withdrawn_a" | cut -d' ' -f1)
printf '# shared list\npdq %s\n\n%s,100,some/path.jpg\n' "$pdq_a" "$pdq_b" >ok.txt
"$bin" bank import --bank h.db --label ncmec ok.txt 2>/dev/null; st=$?
check "pdq-lines and PDQ CSV import -> 2 entries" \
  test $st -eq 0 -a "$("$bin" bank stats --json h.db | field "['entries'], d['from_lists']")" = "(2, 2)"
echo "$sha_a" >sha.txt
"$bin" bank import --bank h.db --type sha256 sha.txt 2>/dev/null
"$bin" match --catalog c.db --bank h.db --out h.csv -q 2>/dev/null
check "imported SHA-256 gives the exact copies" \
  test "$(count_rows h.csv tier=exact)" -eq "$want_a"
check "PDQ-only entries give near within the hash-only distance (byte copies of B)" \
  test "$(count_rows h.csv tier=near bank_locator=hash:$pdq_b)" -ge "$want_b"
check "PDQ-only rows have no pHash distance" \
  test "$(count_rows h.csv bank_locator=hash:$pdq_b phash_distance=)" -eq "$(count_rows h.csv bank_locator=hash:$pdq_b)"

printf '%s,100\nnot-a-hash,50\n%s,101\npdq 12\n' "$pdq_a" "$pdq_b" >badlist.txt
"$bin" bank import --bank bad.db badlist.txt 2>err; st=$?
check "malformed lines -> exit 2" test $st -eq 2
check "each bad line reported with its number" \
  bash -c "grep -q 'badlist.txt:2:' err && grep -q 'badlist.txt:3: quality' err && grep -q 'badlist.txt:4:' err"
check "all-or-nothing: no bank created" test ! -e bad.db
"$bin" bank import --bank bad.db --skip-bad badlist.txt 2>err; st=$?
check "--skip-bad -> exit 1, the good line imported" \
  test $st -eq 1 -a "$("$bin" bank stats --json bad.db | field "['entries']")" = 1
: >empty.txt
"$bin" bank import --bank e.db empty.txt 2>err; st=$?
check "empty hash list -> exit 2" test $st -eq 2

# 5. Bad input: clear errors, exit 2, no partial output.
expect_fatal() {  # name, then the command; checks exit 2 and a message on stderr
  local name=$1; shift
  "$@" >/dev/null 2>err; local st=$?
  if [ $st -eq 2 ] && [ -s err ]; then ok "$name -> exit 2 ($(head -c 100 err | tr '\n' ' '))"
  else bad "$name -> exit $st"; fi
}
expect_fatal "bank given as catalog" "$bin" match --catalog b.db --bank b.db
expect_fatal "catalog given as bank" "$bin" match --catalog c.db --bank c.db
expect_fatal "missing bank" "$bin" match --catalog c.db --bank nothing.db
check "a missing bank is not created" test ! -e nothing.db
"$bin" bank add --bank empty.db legit 2>/dev/null; "$bin" bank remove --bank empty.db --label "" 2>/dev/null
expect_fatal "empty bank" "$bin" match --catalog c.db --bank empty.db
expect_fatal "--max-distance out of range" "$bin" match --catalog c.db --bank b.db --max-distance 200
expect_fatal "--min-quality out of range" "$bin" match --catalog c.db --bank b.db --min-quality -3
expect_fatal "--phash-distance out of range" "$bin" match --catalog c.db --bank b.db --phash-distance 64
expect_fatal "unknown tier" "$bin" match --catalog c.db --bank b.db --tiers exact,maybe
expect_fatal "unknown report extension" "$bin" match --catalog c.db --bank b.db --out r.txt
expect_fatal "unwritable report path" "$bin" match --catalog c.db --bank b.db --out good.csv --out /nonexistent/dir/r.csv
check "no partial report left behind" bash -c "! ls good.csv* r.txt* 2>/dev/null | grep -q ."
mkdir nothing-here
expect_fatal "bank add of a folder without images" "$bin" bank add --bank fresh.db nothing-here
check "a failed bank add leaves no new bank behind" bash -c "! ls fresh.db* 2>/dev/null | grep -q ."
echo "not sqlite" >foreign.db
expect_fatal "foreign file as bank" "$bin" bank stats foreign.db
check "foreign file untouched" test "$(cat foreign.db)" = "not sqlite"

# 6. dedup: the mirror holds every sample several times (one per container kind).
"$bin" dedup --catalog c.db --out d.csv --out d.html 2>err; st=$?
check "dedup -> exit 0" test $st -eq 0
check "one keeper per cluster" "$py" -c "
import csv, collections
rows = list(csv.DictReader(open('d.csv')))
by = collections.defaultdict(list)
for r in rows: by[r['cluster']].append(r)
assert by and all(sum(r['keeper'] == 'true' for r in v) == 1 and len(v) >= 2 for v in by.values())
"
check "the withdrawn image A and its edits form one cluster" "$py" -c "
import csv
rows = list(csv.DictReader(open('d.csv')))
cl = {r['cluster'] for r in rows if r['locator'].endswith('$withdrawn_a') or '/edits/a_' in r['locator']}
assert len(cl) == 1, cl
"
check "the cluster's keeper is its largest image (the bordered copy)" "$py" -c "
import csv
rows = [r for r in csv.DictReader(open('d.csv')) if r['keeper'] == 'true' and '/edits/a_' in r['locator']]
assert len(rows) == 1 and rows[0]['locator'].endswith('a_border.jpg'), rows
"
check "dedup HTML in headless Chromium" "$py" "$here/check_html.py" d.html --rows "$(($(wc -l <d.csv) - 1))"

finish
