#!/usr/bin/env bash
# The README's test command: installs what is missing, checks formatting, builds Release with
# warnings as errors and runs every test, then rebuilds the unit tests under ASan+UBSan and runs
# them again, then fuzzes the decoder for a bounded time.
#   FUZZ_SECONDS=60 (default) bounds the fuzz run; 0 skips it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)

step() { printf '\n==> %s\n' "$*"; }

step "setup"
scripts/setup.sh

step "format check"
scripts/format.sh --check

step "release build (warnings as errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRESIDUE_WARNINGS_AS_ERRORS=ON -DRESIDUE_BUILD_TESTS=ON \
  -DRESIDUE_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$jobs"

step "tests (release)"
ctest --test-dir build --output-on-failure -j"$jobs"

step "unit tests under ASan+UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESIDUE_SANITIZE=address,undefined \
  -DRESIDUE_WARNINGS_AS_ERRORS=ON -DRESIDUE_BUILD_TESTS=ON -DRESIDUE_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit

if [ "${FUZZ_SECONDS:-60}" != "0" ]; then
  step "decode fuzzer (${FUZZ_SECONDS:-60} s)"
  scripts/fuzz.sh
fi

step "all tests passed"
