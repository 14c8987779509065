#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs residue's main job on the
# bundled sample images. For now that job is hashing: one line per image, `pdq,quality,path`,
# then the same images as JSON lines with every hash, and one broken file to show an error record.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/build.sh -DRESIDUE_BUILD_TESTS=OFF -DRESIDUE_BUILD_BENCH=OFF
residue=build/tools/residue

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/data/samples/* "$work/"
head -c 3000 tests/data/samples/gnome-control-center-data__cat.jpg > "$work/truncated-copy.jpg"

printf '\n$ residue hash samples/\n'
(cd "$work" && "$root/$residue" hash .) || echo "(exit status $?: some items failed, as expected for the truncated file)"
printf '\n$ residue hash --json --dihedral samples/python3-skimage__rocket.jpg\n'
"$residue" hash --json --dihedral "$work/python3-skimage__rocket.jpg"
