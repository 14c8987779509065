#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds (in build-demo/), and runs residue's
# main job so far on the bundled sample images: hashing them (one line per image,
# `pdq,quality,path`, a broken file showing an error record, one image as JSON with every hash),
# then scanning a small mirror with every container kind into a catalog.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
BUILD_DIR="$root/build-demo" scripts/build.sh -DRESIDUE_BUILD_TESTS=OFF -DRESIDUE_BUILD_BENCH=OFF
residue=build-demo/tools/residue

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/data/samples/* "$work/"
head -c 3000 tests/data/samples/gnome-control-center-data__cat.jpg > "$work/truncated-copy.jpg"

printf '\n$ residue hash samples/\n'
(cd "$work" && "$root/$residue" hash .) || echo "(exit status $?: some items failed, as expected for the truncated file)"
printf '\n$ residue hash --json --dihedral samples/python3-skimage__rocket.jpg\n'
"$residue" hash --json --dihedral "$work/python3-skimage__rocket.jpg"

# The main job so far: scan a small mirror with every container kind (folders, WebDataset tar
# shards, zip, MS-Celeb TSV, InsightFace RecordIO), built from the same samples, into a catalog.
/usr/bin/python3 tests/cli/make_test_mirror.py tests/data/samples "$work/mirror" --bad >/dev/null
printf '\n$ residue scan mirror --catalog mirror.db\n'
(cd "$work" && "$root/$residue" scan mirror --catalog mirror.db) || echo "(exit status $?: the mirror holds broken files on purpose, each recorded as an error row)"
printf '\n$ residue catalog stats mirror.db\n'
(cd "$work" && "$root/$residue" catalog stats mirror.db)
printf '\n$ residue cat "mirror/train.rec!/record/1" | sha256sum\n'
(cd "$work" && "$root/$residue" cat 'mirror/train.rec!/record/1' | sha256sum)
printf '\n$ residue scan mirror --catalog mirror.db   # again: nothing changed, nothing re-hashed\n'
(cd "$work" && "$root/$residue" scan mirror --catalog mirror.db -q) || true
