#!/bin/sh
# make_bench_sets.sh OUT_DIR [CORPUS_DIR]
#
# Generates the benchmark sets (250/ 640/ 1920/: JPEG q90 4:2:0 crops of the photo corpus) used by
# bench/hash_throughput and bench/decode_fidelity. CORPUS_DIR defaults to ../shared/corpus next to
# the repository root. Deterministic and idempotent: a set that already has its image count is
# skipped. Uses Debian's /usr/bin/python3 with python3-pil (a pyenv python first on PATH has no
# Pillow). See bench/README.md.
set -eu

usage() {
  echo "usage: $0 OUT_DIR [CORPUS_DIR]" >&2
  exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
out_dir=$1
corpus_dir=${2:-$repo_root/../shared/corpus}

if [ ! -d "$corpus_dir" ]; then
  echo "make_bench_sets: corpus folder not found: $corpus_dir (pass CORPUS_DIR)" >&2
  exit 2
fi

python=/usr/bin/python3
if ! "$python" -c 'import PIL' 2>/dev/null; then
  echo "make_bench_sets: $python cannot import PIL; install Debian's python3-pil" \
       "(apt-get install -y python3-pil)" >&2
  exit 2
fi

exec "$python" "$script_dir/make_bench_sets.py" "$out_dir" "$corpus_dir"
