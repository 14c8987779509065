#!/bin/sh
# make_mirror.sh OUT_DIR --count N [--corpus DIR] [--seed S] [--size 250] [--jobs J]
#
# Generates a test dataset mirror (plain folders, WebDataset tar shards, a zip, an MS-Celeb TSV and
# an MXNet RecordIO file) for bench/scan_throughput and the scan tests; see scripts/make_mirror.py.
# Runs Debian's /usr/bin/python3 with python3-pil (a pyenv python first on PATH has no Pillow).
set -eu

script_dir=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
if ! "$python" -c 'import PIL' 2>/dev/null; then
  echo "make_mirror: $python cannot import PIL; install Debian's python3-pil" \
       "(apt-get install -y python3-pil)" >&2
  exit 2
fi
exec "$python" "$script_dir/make_mirror.py" "$@"
