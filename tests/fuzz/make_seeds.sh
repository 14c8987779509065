#!/bin/sh
# Regenerates tests/fuzz/seeds/decode/: tiny valid files of every format the decode layer reads,
# written by tests/fuzz/make_seeds.cpp (OpenCV encoders + tests/decode/builders.hpp), plus the
# CMYK JPEG fixture. Review the diff after running it; the seeds are committed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/seeds/decode"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CXX:-g++} -std=c++20 -O1 -I"$root/tests/decode" -isystem /usr/include/opencv4 \
  "$here/make_seeds.cpp" -o "$tmp/make_seeds" -lopencv_imgcodecs -lopencv_imgproc -lopencv_core
rm -rf "$out"
"$tmp/make_seeds" "$out"
cp "$root/tests/data/decode/cmyk_32x24.jpg" "$out/cmyk.jpg"
ls -l "$out"
