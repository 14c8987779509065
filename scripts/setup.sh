#!/usr/bin/env bash
# Installs the Debian packages residue needs to build, test and benchmark. Idempotent: when every
# package is already installed it only checks (a second or so). Needs root (or sudo) to install.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libopencv-dev libopencv-contrib-dev   # decode (imgcodecs); img_hash as the benchmark peer
  libtbb-dev                            # scan pipeline
  libfmt-dev libcli11-dev               # report / tools
  libssl-dev                            # SHA-256 (OpenSSL EVP)
  libarchive-dev libsqlite3-dev         # source (tar/zip), catalog
  libfaiss-dev                          # index (FAISS 1.7.3; pulls BLAS/LAPACK; OpenMP is gcc's libgomp)
  openmpi-bin libopenmpi-dev            # dist: `--mpi` runs and their tests (optional at build time)
  doctest-dev libbenchmark-dev          # tests, micro-benchmarks
  clang libclang-rt-14-dev              # libFuzzer target (scripts/fuzz.sh)
  clang-format                          # format check in scripts/test.sh
  python3 python3-pil python3-numpy     # scripts that generate benchmark sets (/usr/bin/python3)
  chromium                              # HTML report browser test (tests/cli/check_html.py)
  fonts-dejavu-core                     # text overlay in scripts/make_accuracy_mirror.py
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
