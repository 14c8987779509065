#!/bin/sh
# make_accuracy_mirror.sh OUT_DIR [--corpus DIR] [--withdrawn 50] [--seed 1] [--jobs J]
#
# Generates bench/accuracy's mirror (withdrawn originals, their edited copies and distractors in
# every container kind, and truth.tsv); see scripts/make_accuracy_mirror.py. Runs Debian's
# /usr/bin/python3 with python3-pil and python3-numpy (a pyenv python first on PATH has no Pillow).
set -eu

script_dir=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
if ! "$python" -c 'import PIL, numpy' 2>/dev/null; then
  echo "make_accuracy_mirror: $python cannot import PIL and numpy; install Debian's python3-pil" \
       "python3-numpy (scripts/setup.sh)" >&2
  exit 2
fi
exec "$python" "$script_dir/make_accuracy_mirror.py" "$@"
