#!/usr/bin/python3
"""Copies the PDQ conformance subset that the test suite carries into tests/data/pdq/.

Selection (deterministic): every synthetic vector; the 30 smallest lossless files plus every
lossless file whose luma path is 'grey' or whose source is RGBA; the 10 smallest JPEG files.
expected.csv keeps the header and the selected rows verbatim. Usage:
    scripts/update_pdq_subset.py [PATH/TO/shared/pdq-vectors]
Review the diff of tests/data/pdq after running it.
"""
import csv, os, shutil, sys

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "..", "shared", "pdq-vectors")
dst = os.path.join(repo, "tests", "data", "pdq")

with open(os.path.join(src, "expected.csv"), newline="") as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = list(reader)
col = {name: i for i, name in enumerate(header)}

def size(row):
    return os.path.getsize(os.path.join(src, row[col["file"]]))

by_set = {}
for r in rows:
    by_set.setdefault(r[col["set"]], []).append(r)

chosen = list(by_set["synthetic"])
lossless = sorted(by_set["lossless"], key=lambda r: (size(r), r[col["file"]]))
picked = set(r[col["file"]] for r in lossless[:30])
for r in lossless:
    notes = r[col["decoder_notes"]].lower()
    if r[col["luma_path"]] == "grey" or "rgba" in notes:
        picked.add(r[col["file"]])
chosen += [r for r in lossless if r[col["file"]] in picked]
chosen += sorted(by_set["jpeg"], key=lambda r: (size(r), r[col["file"]]))[:10]

if os.path.isdir(dst):
    shutil.rmtree(dst)
for r in chosen:
    out = os.path.join(dst, r[col["file"]])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copyfile(os.path.join(src, r[col["file"]]), out)
with open(os.path.join(dst, "expected.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(header)
    w.writerows(chosen)
total = sum(os.path.getsize(os.path.join(dst, r[col["file"]])) for r in chosen)
print(f"copied {len(chosen)} vectors ({total / 1e6:.2f} MB) to {dst}")
