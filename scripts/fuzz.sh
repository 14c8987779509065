#!/bin/sh
# Builds the decode fuzzer with clang (libFuzzer + ASan + UBSan) in build-fuzz/ and runs it on a
# copy of the committed seed corpus for FUZZ_SECONDS (default 60). Exits non-zero when the fuzzer
# finds a crash, leak, timeout or sanitizer report; the reproducer lands in build-fuzz/findings/.
#   scripts/fuzz.sh                  # 60 s
#   FUZZ_SECONDS=600 scripts/fuzz.sh
#   scripts/fuzz.sh build-fuzz/findings/crash-...   # replay one input
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
seconds=${FUZZ_SECONDS:-60}

mkdir -p "$build"
# The top-level CMakeLists adds tests/fuzz when RESIDUE_BUILD_FUZZ is on; the other targets are
# configured but not built.
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRESIDUE_BUILD_FUZZ=ON -DRESIDUE_BUILD_TESTS=OFF -DRESIDUE_BUILD_BENCH=OFF -DRESIDUE_BUILD_TOOLS=OFF \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 2; }
cmake --build "$build" --target decode_fuzzer -j"$(nproc)"

fuzzer="$build/tests/fuzz/decode_fuzzer"
if [ $# -gt 0 ]; then
  exec "$fuzzer" "$@"
fi

corpus="$build/corpus/decode"
findings="$build/findings"
mkdir -p "$corpus" "$findings"
cp "$root"/tests/fuzz/seeds/decode/* "$corpus/"
# One process, one thread (OpenCV's pool is set to 1 in the fuzzer), as libvips fuzzes. The
# per-input timeout turns a decoder hang into a finding.
"$fuzzer" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
  -artifact_prefix="$findings/" -print_final_stats=1
