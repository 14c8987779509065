#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds (in build-demo/), and runs residue's
# main job on the bundled sample images:
#   1. builds a small mirror from them (folders, WebDataset tar shards, a zip, an MS-Celeb TSV, an
#      InsightFace RecordIO) in which two "withdrawn" images hide as byte copies and ~55 edited
#      copies each (re-encoded, resized, cropped, rotated, flipped, bordered, overlaid, ...), among
#      the other samples and their edits;
#   2. scans the mirror into a catalog;
#   3. builds a removal bank from the withdrawn images;
#   4. matches, writing CSV and HTML reports to demo-out/ (kept after the run);
#   5. prints a summary, scored against the generator's ground truth.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
BUILD_DIR="$root/build-demo" scripts/build.sh -DRESIDUE_BUILD_TESTS=OFF -DRESIDUE_BUILD_BENCH=OFF
residue="$root/build-demo/tools/residue"
py=/usr/bin/python3

out="$root/demo-out"
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A corpus of the bundled samples (no two of them are variants of one picture: no families).
mkdir "$work/corpus"
cp tests/data/samples/* "$work/corpus/"
{
  printf 'file\tfamily\n'
  for f in tests/data/samples/*; do printf '%s\t\n' "$(basename "$f")"; done
} >"$work/corpus/MANIFEST.tsv"

printf '\n== 1. a mirror with withdrawn images hidden in it\n'
"$py" scripts/make_accuracy_mirror.py "$out/data" --corpus "$work/corpus" --withdrawn 2 --seed 7 \
  --jobs 2 >/dev/null
echo "withdrawn images: $(ls "$out/data/withdrawn" | tr '\n' ' ')"
echo "mirror: $(find "$out/data/mirror" -type f | wc -l) files; containers:" \
  "$(cd "$out/data/mirror" && find . -name '*.tar*' -o -name '*.zip' -o -name '*.tsv' -o -name '*.rec' | sort | tr '\n' ' ')"

cd "$out"
printf '\n== 2. $ residue scan data/mirror --catalog catalog.db\n'
"$residue" scan data/mirror --catalog catalog.db
"$residue" catalog stats catalog.db

printf '\n== 3. $ residue bank add --bank bank.db --label demo-request data/withdrawn\n'
"$residue" bank add --bank bank.db --label demo-request data/withdrawn
"$residue" bank stats bank.db

printf '\n== 4. $ residue match --catalog catalog.db --bank bank.db --out report.csv --out report.html\n'
"$residue" match --catalog catalog.db --bank bank.db --out report.csv --out report.html

printf '\n== 5. summary (scored against data/truth.tsv, which the generator wrote)\n'
"$py" - "$out/data/truth.tsv" report.csv <<'EOF'
import collections, csv, os, sys
truth = {r["locator"]: r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
for r in rows:
    r["truth"] = truth.get(os.path.abspath(r["locator"]), {})  # truth.tsv locators are absolute
print("report rows by tier:", dict(collections.Counter(r["tier"] for r in rows)))
planted = {l for l, t in truth.items() if t["positive"] == "1"}
acted = [r for r in rows if r["tier"] in ("exact", "near")]
found = {os.path.abspath(r["locator"]) for r in acted}
review = {os.path.abspath(r["locator"]) for r in rows if r["tier"] == "review"} - found
false = [r for r in acted if r["truth"].get("source") != os.path.basename(r["bank_locator"])]
print(f"planted copies: {len(planted)}; found as exact or near: {len(planted & found)}; "
      f"only in review: {len(planted & review)}; false matches in exact or near: {len(false)}")
missed = collections.Counter(truth[p]["edit"] for p in planted - found)
print("not found in exact/near (edit: copies): " +
      (", ".join(f"{e}: {n}" for e, n in sorted(missed.items())) or "none"))
EOF
printf '\nReports: %s/report.csv (one row per copy) and %s/report.html (open it in a browser).\n' "$out" "$out"
printf 'Next: see README.md, "Finding copies", for the same steps on your own mirror.\n'

printf '\n== 6. $ residue purge --catalog catalog.db --bank bank.db --to quarantine   (dry run: the plan, nothing changed)\n'
{ "$residue" purge --catalog catalog.db --bank bank.db --to quarantine || [ $? -eq 1 ]; } | sed -n '1,25p;26{s/.*/  .../p};/^refused:/,$p;/^total:/p' | uniq
printf '(the whole plan: %s items; add --execute to act, see README.md, "Purging copies")\n' \
  "$("$residue" purge --catalog catalog.db --bank bank.db --json | grep -c '"action":"remove"' || true)"
